/**
 * Picks the indicators drawn on the chart: a text input (with common specs suggested) that adds
 * a spec on Enter, and a chip per indicator shown, to remove it. Specs that can never be valid
 * are refused here; the server judges the rest, and its reason for refusing one is shown under
 * the input (`problem`).
 */
import { type SubmitEvent, useId, useState } from "react";

import { INDICATOR_SUGGESTIONS, MAX_INDICATORS, normalizeSpec, specProblem } from "../state/indicators";

interface Props {
  /** The specs shown, in order. */
  value: readonly string[];
  onChange: (next: string[]) => void;
  /** Why the server refused a spec (it has been dropped), if it did. */
  problem: string | null;
}

export function IndicatorPicker({ value, onChange, problem }: Props) {
  const [text, setText] = useState("");
  const [local, setLocal] = useState<string | null>(null);
  const listId = useId();

  const add = (e: SubmitEvent<HTMLFormElement>): void => {
    e.preventDefault();
    const spec = normalizeSpec(text);
    const reason =
      specProblem(text) ??
      (value.includes(spec) ? `${spec} is already on the chart.` : null) ??
      (value.length >= MAX_INDICATORS ? `At most ${MAX_INDICATORS} indicators.` : null);
    setLocal(reason);
    if (reason !== null) return;
    setText("");
    onChange([...value, spec]);
  };
  const remove = (spec: string): void => {
    setLocal(null);
    onChange(value.filter((s) => s !== spec));
  };

  const message = local ?? problem;
  return (
    <div className="indicators" data-testid="indicator-picker">
      <form className="indicator-form" onSubmit={add}>
        <input
          className="input input-small indicator-input"
          type="text"
          value={text}
          list={listId}
          placeholder="e.g. sma(20), rsi"
          aria-label="Add an indicator"
          aria-invalid={message !== null}
          spellCheck={false}
          autoComplete="off"
          data-testid="indicator-input"
          onChange={(e) => {
            setText(e.target.value);
            setLocal(null);
          }}
        />
        <datalist id={listId}>
          {INDICATOR_SUGGESTIONS.filter((s) => !value.includes(s.spec)).map((s) => (
            <option key={s.spec} value={s.spec} label={s.label} />
          ))}
        </datalist>
        <button type="submit" className="btn indicator-add" disabled={text.trim() === ""} data-testid="indicator-add">
          Add
        </button>
      </form>
      {message !== null ? (
        <div className="indicator-problem error-text" role="alert" data-testid="indicator-problem">
          {message}
        </div>
      ) : null}
      {value.length > 0 ? (
        <ul className="chips" aria-label="Indicators on the chart">
          {value.map((spec) => (
            <li key={spec} className="chip" data-testid="indicator-chip" data-spec={spec}>
              <span>{spec}</span>
              <button type="button" className="chip-remove" aria-label={`Remove ${spec}`} onClick={() => remove(spec)}>
                ×
              </button>
            </li>
          ))}
        </ul>
      ) : null}
    </div>
  );
}
