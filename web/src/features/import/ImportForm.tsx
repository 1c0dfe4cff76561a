/** The import form: a CSV or Parquet file and the series it holds → `POST /api/v1/stocks/import`. */
import { useQueryClient } from "@tanstack/react-query";
import { type SubmitEvent, useRef, useState } from "react";

import { isAbortError } from "../../api/problem";
import { datasetKeys } from "../../queries/keys/datasets";
import { ProblemBox } from "../../ui/ProblemBox";
import {
  COMMON_ZONES,
  DEFAULT_IMPORT_VALUES,
  EPOCH_UNITS,
  formatBytes,
  guessSymbol,
  IMPORT_TIMESPANS,
  type ImportFormErrors,
  type ImportFormValues,
  validateImportForm,
} from "./form";
import { ImportOutcomeView } from "./ImportOutcome";
import { importFile, type ImportOutcome } from "./upload";

function FieldError({ message }: { message: string | undefined }) {
  return message === undefined ? null : <div className="field-error">{message}</div>;
}

const EPOCH_LABELS: Record<(typeof EPOCH_UNITS)[number], string> = {
  auto: "Tell from their size",
  s: "Seconds",
  ms: "Milliseconds",
  us: "Microseconds",
  ns: "Nanoseconds",
};

export function ImportForm() {
  const [values, setValues] = useState<ImportFormValues>(DEFAULT_IMPORT_VALUES);
  const [file, setFile] = useState<File | null>(null);
  const [errors, setErrors] = useState<ImportFormErrors>({});
  const [problem, setProblem] = useState<unknown>(null);
  const [outcome, setOutcome] = useState<ImportOutcome | null>(null);
  const [uploading, setUploading] = useState(false);
  const abort = useRef<AbortController | null>(null);
  const client = useQueryClient();

  const set = <K extends keyof ImportFormValues>(key: K, value: ImportFormValues[K]): void => {
    setValues((v) => ({ ...v, [key]: value }));
  };

  const choose = (chosen: File | null): void => {
    setFile(chosen);
    setOutcome(null);
    setProblem(null);
    if (chosen !== null && values.symbol.trim() === "") set("symbol", guessSymbol(chosen.name));
  };

  const submit = async (event: SubmitEvent<HTMLFormElement>): Promise<void> => {
    event.preventDefault();
    setProblem(null);
    setOutcome(null);
    const result = validateImportForm(values, file);
    if (!result.ok || file === null) {
      setErrors(result.ok ? {} : result.errors);
      return;
    }
    setErrors({});
    const controller = new AbortController();
    abort.current = controller;
    setUploading(true);
    try {
      const imported = await importFile(file, result.params, controller.signal);
      setOutcome(imported);
      if (imported.kind === "imported") void client.invalidateQueries({ queryKey: datasetKeys.all });
    } catch (e) {
      if (!isAbortError(e)) setProblem(e);
    } finally {
      abort.current = null;
      setUploading(false);
    }
  };

  return (
    <div className="form" data-testid="import">
      <form className="form" onSubmit={(e) => void submit(e)} noValidate data-testid="import-form">
        <label className="field field-wide">
          <span>File</span>
          <input
            className="input"
            type="file"
            name="file"
            accept=".csv,.txt,.tsv,.parquet,text/csv"
            data-testid="import-file"
            onChange={(e) => choose(e.target.files?.[0] ?? null)}
          />
          <small className="muted">
            {file !== null ? `${file.name} — ${formatBytes(file.size)}` : "CSV with a header line, or Parquet; up to 512 MiB."}
          </small>
          <FieldError message={errors.file} />
        </label>

        <div className="row">
          <label className="field">
            <span>Symbol</span>
            <input className="input" name="symbol" value={values.symbol} onChange={(e) => set("symbol", e.target.value)} placeholder="AAPL" autoComplete="off" spellCheck={false} />
            <FieldError message={errors.symbol} />
          </label>
          <label className="field field-narrow">
            <span>Multiplier</span>
            <input className="input" name="multiplier" inputMode="numeric" value={values.multiplier} onChange={(e) => set("multiplier", e.target.value)} />
            <FieldError message={errors.multiplier} />
          </label>
          <label className="field">
            <span>Timespan</span>
            <select className="input" name="timespan" value={values.timespan} onChange={(e) => set("timespan", IMPORT_TIMESPANS.find((t) => t === e.target.value) ?? "minute")}>
              {IMPORT_TIMESPANS.map((t) => (
                <option key={t} value={t}>
                  {t}
                </option>
              ))}
            </select>
          </label>
        </div>

        <div className="row">
          <label className="field">
            <span>Time zone</span>
            <input className="input" name="tz" list="import-zones" value={values.tz} onChange={(e) => set("tz", e.target.value)} spellCheck={false} />
            <datalist id="import-zones">
              {COMMON_ZONES.map((z) => (
                <option key={z} value={z} />
              ))}
            </datalist>
            <small className="muted">For date-times written without an offset. Day bars name their exchange day whatever the zone.</small>
            <FieldError message={errors.tz} />
          </label>
          <label className="field">
            <span>Epoch numbers</span>
            <select className="input" name="epoch_unit" value={values.epochUnit} onChange={(e) => set("epochUnit", EPOCH_UNITS.find((u) => u === e.target.value) ?? "auto")}>
              {EPOCH_UNITS.map((u) => (
                <option key={u} value={u}>
                  {EPOCH_LABELS[u]}
                </option>
              ))}
            </select>
          </label>
        </div>

        <label className="check">
          <input type="checkbox" name="adjusted" checked={values.adjusted} onChange={(e) => set("adjusted", e.target.checked)} />
          <span>Prices are adjusted for splits</span>
        </label>

        <div className="row">
          <button className="btn btn-primary" type="submit" disabled={uploading} data-testid="import-submit">
            {uploading ? `Importing${file !== null ? ` ${formatBytes(file.size)}` : ""}…` : "Import"}
          </button>
          {uploading ? (
            <button className="btn" type="button" onClick={() => abort.current?.abort()}>
              Cancel
            </button>
          ) : null}
        </div>
      </form>
      <ProblemBox error={problem} testId="import-problem" />
      {outcome !== null ? <ImportOutcomeView outcome={outcome} /> : null}
    </div>
  );
}
