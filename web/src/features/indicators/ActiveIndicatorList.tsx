/**
 * The indicators on the chart, in order: each with its colour (a palette to pick another from),
 * edit (reopens its parameters), hide or show, and remove; and why it has no value, when the
 * series is too short for it.
 */
import { useState } from "react";

import { INDICATOR_COLORS } from "../../chart/indicatorColors";
import type { ActiveIndicator } from "../../state/indicators";

interface Props {
  indicators: readonly ActiveIndicator[];
  onChange: (next: ActiveIndicator[]) => void;
  onEdit: (spec: string) => void;
  /** The colour each is drawn in, by spec. */
  colorOf: ReadonlyMap<string, string>;
  /** The canonical spec the server answered for each, by spec. */
  canonical: ReadonlyMap<string, string>;
  /** Why one has no value (the series is too short for it), by spec. */
  notes: ReadonlyMap<string, string>;
}

export function ActiveIndicatorList({ indicators, onChange, onEdit, colorOf, canonical, notes }: Props) {
  const [colouring, setColouring] = useState<string | null>(null);
  if (indicators.length === 0) return null;

  const patch = (spec: string, change: Partial<ActiveIndicator>): void => {
    onChange(indicators.map((i) => (i.spec === spec ? { ...i, ...change } : i)));
  };

  return (
    <ul className="active-indicators" aria-label="Indicators on the chart">
      {indicators.map(({ spec, hidden }) => {
        const color = colorOf.get(spec) ?? INDICATOR_COLORS[0];
        const answered = canonical.get(spec);
        const note = notes.get(spec);
        return (
          <li key={spec} className={hidden ? "active-indicator is-hidden" : "active-indicator"} data-testid="indicator-chip" data-spec={spec} data-hidden={hidden ? "true" : "false"} data-canonical={answered ?? ""}>
            <div className="active-indicator-row">
              <button
                type="button"
                className="swatch"
                style={{ background: color }}
                aria-label={`Colour of ${spec}`}
                aria-expanded={colouring === spec}
                data-testid="indicator-color"
                data-color={color}
                onClick={() => setColouring(colouring === spec ? null : spec)}
              />
              <span className="active-indicator-spec" title={answered !== undefined && answered !== spec ? `The server calls it ${answered}` : undefined}>
                {spec}
              </span>
              <button type="button" className="icon-btn" aria-label={`Edit ${spec}`} data-testid="indicator-edit" onClick={() => onEdit(spec)}>
                edit
              </button>
              <button type="button" className="icon-btn" aria-label={`${hidden ? "Show" : "Hide"} ${spec}`} aria-pressed={hidden} data-testid="indicator-hide" onClick={() => patch(spec, { hidden: !hidden })}>
                {hidden ? "show" : "hide"}
              </button>
              <button type="button" className="chip-remove" aria-label={`Remove ${spec}`} onClick={() => onChange(indicators.filter((i) => i.spec !== spec))}>
                ×
              </button>
            </div>
            {colouring === spec ? (
              <div className="swatches" role="group" aria-label={`Colours for ${spec}`}>
                {INDICATOR_COLORS.map((c) => (
                  <button
                    key={c}
                    type="button"
                    className={c === color ? "swatch is-current" : "swatch"}
                    style={{ background: c }}
                    aria-label={c}
                    data-testid="indicator-swatch"
                    data-color={c}
                    onClick={() => {
                      setColouring(null);
                      patch(spec, { color: c });
                    }}
                  />
                ))}
              </div>
            ) : null}
            {note !== undefined ? (
              <div className="indicator-note muted" data-testid="indicator-note">
                {note}
              </div>
            ) : null}
          </li>
        );
      })}
    </ul>
  );
}
