/** The fetch form: symbols, bar size, range, adjustment and source → `POST /api/v1/stocks/fetch`. */
import { type SubmitEvent, useState } from "react";

import { startFetch } from "../../api/endpoints/stocks";
import type { JobAccepted } from "../../api/types";
import { ProblemBox } from "../../ui/ProblemBox";
import { defaultFormValues, type FetchFormErrors, type FetchFormValues, SOURCES, TIMESPANS, validateFetchForm } from "./form";

interface Props {
  onStarted: (accepted: JobAccepted) => void;
}

function FieldError({ message }: { message: string | undefined }) {
  return message === undefined ? null : <div className="field-error">{message}</div>;
}

export function FetchForm({ onStarted }: Props) {
  const [values, setValues] = useState<FetchFormValues>(() => defaultFormValues(new Date()));
  const [errors, setErrors] = useState<FetchFormErrors>({});
  const [problem, setProblem] = useState<unknown>(null);
  const [submitting, setSubmitting] = useState(false);

  const set = <K extends keyof FetchFormValues>(key: K, value: FetchFormValues[K]): void => {
    setValues((v) => ({ ...v, [key]: value }));
  };

  const submit = async (event: SubmitEvent<HTMLFormElement>): Promise<void> => {
    event.preventDefault();
    setProblem(null);
    const result = validateFetchForm(values);
    if (!result.ok) {
      setErrors(result.errors);
      return;
    }
    setErrors({});
    setSubmitting(true);
    try {
      onStarted(await startFetch(result.request));
    } catch (e) {
      setProblem(e);
    } finally {
      setSubmitting(false);
    }
  };

  return (
    <form className="form" onSubmit={(e) => void submit(e)} noValidate data-testid="fetch-form">
      <label className="field field-wide">
        <span>Symbols</span>
        <input
          className="input"
          name="symbols"
          value={values.symbols}
          onChange={(e) => set("symbols", e.target.value)}
          placeholder="AAPL, MSFT SPY"
          autoComplete="off"
          spellCheck={false}
        />
        <small className="muted">Comma or space separated.</small>
        <FieldError message={errors.symbols} />
      </label>

      <div className="row">
        <label className="field">
          <span>Multiplier</span>
          <input
            className="input"
            name="multiplier"
            inputMode="numeric"
            value={values.multiplier}
            onChange={(e) => set("multiplier", e.target.value)}
          />
          <FieldError message={errors.multiplier} />
        </label>
        <label className="field">
          <span>Timespan</span>
          <select className="input" name="timespan" value={values.timespan} onChange={(e) => set("timespan", TIMESPANS.find((t) => t === e.target.value) ?? "day")}>
            {TIMESPANS.map((t) => (
              <option key={t} value={t}>
                {t}
              </option>
            ))}
          </select>
        </label>
      </div>

      <div className="row">
        <label className="field">
          <span>From</span>
          <input className="input" type="date" name="from" value={values.from} onChange={(e) => set("from", e.target.value)} />
          <FieldError message={errors.from} />
        </label>
        <label className="field">
          <span>To</span>
          <input className="input" type="date" name="to" value={values.to} onChange={(e) => set("to", e.target.value)} />
          <FieldError message={errors.to} />
        </label>
      </div>

      <label className="check">
        <input type="checkbox" name="adjusted" checked={values.adjusted} onChange={(e) => set("adjusted", e.target.checked)} />
        <span>Adjusted for splits</span>
      </label>

      <fieldset className="field field-wide">
        <legend>Source</legend>
        <div className="segmented">
          {SOURCES.map((s) => (
            <label key={s} className={values.source === s ? "seg active" : "seg"}>
              <input type="radio" name="source" value={s} checked={values.source === s} onChange={() => set("source", s)} />
              {s === "polygon" ? "Polygon.io" : "Synthetic"}
            </label>
          ))}
        </div>
        <small className={values.source === "synthetic" ? "warn" : "muted"}>
          {values.source === "synthetic"
            ? "Synthetic is generated demo data, not market data: use it to try K2 Quant without a Polygon key. Its datasets are marked SYNTHETIC everywhere."
            : "Real market data from Polygon.io (needs POLYGON_API_KEY on the server)."}
        </small>
      </fieldset>

      <div className="row">
        <button className="btn btn-primary" type="submit" disabled={submitting} data-testid="fetch-submit">
          {submitting ? "Starting…" : "Fetch"}
        </button>
      </div>
      <ProblemBox error={problem} testId="fetch-problem" />
    </form>
  );
}
