/**
 * Picks the indicators on the chart: a search over the catalog (picking one opens its parameter
 * form), or a spec typed in full and added on Enter (`macd(fastperiod=8, slowperiod=21)`), and the
 * list of those on the chart. Specs that can never be valid are refused here; the server judges the
 * rest, and its reason for refusing one is shown under the search (`problem`).
 */
import { type SubmitEvent, useState } from "react";

import type { IndicatorInfo } from "../../api/types";
import { type ActiveIndicator, MAX_INDICATORS, newIndicator, normalizeSpec, specProblem } from "../../state/indicators";
import { ProblemBox } from "../../ui/ProblemBox";
import { ActiveIndicatorList } from "./ActiveIndicatorList";
import { infoForSpec } from "./catalog";
import { CatalogList } from "./CatalogList";
import { ParameterForm } from "./ParameterForm";
import { defaultValues, valuesFromSpec } from "./parameterForm";
import { useIndicatorCatalog } from "./useIndicatorCatalog";

interface Props {
  /** The indicators on the chart, in order. */
  value: readonly ActiveIndicator[];
  onChange: (next: ActiveIndicator[]) => void;
  /** Why the server refused a spec (it has been dropped), if it did. */
  problem: string | null;
  /** The canonical spec the server answered for each, by spec. */
  canonical?: ReadonlyMap<string, string>;
  /** The colour each is drawn in, by spec. */
  colorOf?: ReadonlyMap<string, string>;
  /** Why one has no value, by spec. */
  notes?: ReadonlyMap<string, string>;
}

/** The form open: for a new indicator (`target` null) or to edit the one with spec `target`. */
interface OpenForm {
  name: string;
  target: string | null;
}

const NONE: ReadonlyMap<string, string> = new Map();

export function IndicatorPicker({ value, onChange, problem, canonical = NONE, colorOf = NONE, notes = NONE }: Props) {
  const [text, setText] = useState("");
  const [browsing, setBrowsing] = useState(false);
  const [form, setForm] = useState<OpenForm | null>(null);
  const [local, setLocal] = useState<string | null>(null);
  const { catalog, error, loading } = useIndicatorCatalog(browsing || form !== null);

  /** Why `spec` cannot join the chart (in place of `target`, when editing), or `null`. */
  const refusal = (spec: string, target: string | null): string | null => {
    const others = value.filter((i) => i.spec !== target);
    if (others.some((i) => i.spec === spec || canonical.get(i.spec) === spec)) return `${spec} is already on the chart.`;
    if (target === null && value.length >= MAX_INDICATORS) return `At most ${MAX_INDICATORS} indicators.`;
    return null;
  };

  const put = (spec: string, target: string | null): boolean => {
    const reason = refusal(spec, target);
    setLocal(reason);
    if (reason !== null) return false;
    onChange(target === null ? [...value, newIndicator(spec)] : value.map((i) => (i.spec === target ? { ...i, spec } : i)));
    return true;
  };

  const addTyped = (e: SubmitEvent<HTMLFormElement>): void => {
    e.preventDefault();
    const reason = specProblem(text);
    if (reason !== null) {
      setLocal(reason);
      return;
    }
    if (!put(normalizeSpec(text), null)) return;
    setText("");
    setBrowsing(false);
  };

  const pick = (info: IndicatorInfo): void => {
    setLocal(null);
    setForm({ name: info.name, target: null });
    setBrowsing(false);
    setText("");
  };

  const info = form !== null && catalog !== null ? infoForSpec(catalog, form.name) : null;
  const message = local ?? problem;
  return (
    <div className="indicators" data-testid="indicator-picker">
      <form className="indicator-form" onSubmit={addTyped}>
        <input
          className="input input-small indicator-input"
          type="search"
          value={text}
          placeholder="Search, or type e.g. sma(20)"
          aria-label="Search indicators or type a spec"
          aria-invalid={message !== null}
          spellCheck={false}
          autoComplete="off"
          data-testid="indicator-input"
          onFocus={() => setBrowsing(true)}
          onKeyDown={(e) => {
            if (e.key === "Escape") setBrowsing(false);
          }}
          onChange={(e) => {
            setText(e.target.value);
            setBrowsing(true);
            setLocal(null);
          }}
        />
        <button type="submit" className="btn indicator-add" disabled={text.trim() === ""} data-testid="indicator-add">
          Add
        </button>
      </form>
      {message !== null ? (
        <div className="indicator-problem error-text" role="alert" data-testid="indicator-problem">
          {message}
        </div>
      ) : null}
      {browsing || form !== null ? <ProblemBox error={error} testId="indicator-catalog-problem" /> : null}
      {browsing && catalog !== null ? (
        <div className="catalog-pane">
          <CatalogList catalog={catalog} search={text} onPick={pick} />
          <button type="button" className="btn catalog-close" onClick={() => setBrowsing(false)}>
            Close
          </button>
        </div>
      ) : null}
      {(browsing || form !== null) && loading && catalog === null ? <div className="muted">Loading indicators…</div> : null}
      {form !== null && info !== null ? (
        <ParameterForm
          key={`${form.name} ${form.target ?? ""}`}
          info={info}
          initial={form.target !== null ? valuesFromSpec(info, form.target) : defaultValues(info)}
          submitLabel={form.target !== null ? "Save" : "Add"}
          onCancel={() => setForm(null)}
          onSubmit={(spec) => {
            if (form.target === spec || put(spec, form.target)) setForm(null);
          }}
        />
      ) : null}
      {form !== null && catalog !== null && info === null ? (
        <div className="muted" data-testid="indicator-uncatalogued">
          {form.name} is not in the catalog: remove it and type its spec again.
        </div>
      ) : null}
      <ActiveIndicatorList
        indicators={value}
        onChange={(next) => {
          setLocal(null);
          onChange(next);
        }}
        onEdit={(spec) => {
          setLocal(null);
          setForm({ name: spec, target: spec });
        }}
        colorOf={colorOf}
        canonical={canonical}
        notes={notes}
      />
    </div>
  );
}
