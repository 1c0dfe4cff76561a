/**
 * The parameters of the indicator picked (or edited): one input per parameter, filled with its
 * default, its valid range beside it and its problem under it as it is typed. Submitting hands
 * the spec the values make (`parameterForm.ts`) to `onSubmit`.
 */
import { type SubmitEvent, useId, useState } from "react";

import type { IndicatorInfo, IndicatorParameter } from "../../api/types";
import { buildSpec, type FormValues, formProblems, MA_TYPES, rangeText } from "./parameterForm";

interface Props {
  info: IndicatorInfo;
  initial: FormValues;
  /** `Add` for a new indicator, `Save` when editing one. */
  submitLabel: string;
  onSubmit: (spec: string) => void;
  onCancel: () => void;
}

function ParameterInput({ param, value, id, invalid, onChange }: { param: IndicatorParameter; value: string; id: string; invalid: boolean; onChange: (v: string) => void }) {
  const common = { id, name: param.name, "aria-invalid": invalid, "data-testid": "indicator-param", "data-param": param.name } as const;
  if (param.type === "ma_type") {
    return (
      <select {...common} className="input input-small" value={value} onChange={(e) => onChange(e.target.value)}>
        {MA_TYPES.map((name, index) => (
          <option key={name} value={String(index)}>
            {name}
          </option>
        ))}
      </select>
    );
  }
  const numeric = param.type === "integer" || param.type === "number";
  return (
    <input
      {...common}
      className="input input-small"
      type={param.type === "date" ? "date" : "number"}
      inputMode={numeric ? (param.type === "integer" ? "numeric" : "decimal") : undefined}
      step={param.type === "integer" ? 1 : numeric ? "any" : undefined}
      min={numeric ? (param.minimum ?? undefined) : undefined}
      max={numeric ? (param.maximum ?? undefined) : undefined}
      required={param.default === null}
      value={value}
      onChange={(e) => onChange(e.target.value)}
    />
  );
}

export function ParameterForm({ info, initial, submitLabel, onSubmit, onCancel }: Props) {
  const [values, setValues] = useState<FormValues>(initial);
  const baseId = useId();
  const problems = formProblems(info, values);
  const valid = Object.keys(problems).length === 0;

  const submit = (e: SubmitEvent<HTMLFormElement>): void => {
    e.preventDefault();
    if (valid) onSubmit(buildSpec(info, values));
  };

  return (
    <form className="param-form" onSubmit={submit} data-testid="indicator-params" data-name={info.name} noValidate>
      <div className="param-form-head">
        <b>{info.name}</b>
        <span className="muted">{info.display_name}</span>
      </div>
      {info.parameters.length === 0 ? <div className="muted param-none">No parameters.</div> : null}
      {info.parameters.map((param) => {
        const id = `${baseId}-${param.name}`;
        const problem = problems[param.name];
        const range = param.type === "integer" || param.type === "number" ? rangeText(param) : "";
        return (
          <div key={param.name} className="param-row">
            <label htmlFor={id} title={param.help}>
              {param.display_name}
            </label>
            <ParameterInput param={param} value={values[param.name] ?? ""} id={id} invalid={problem !== undefined} onChange={(v) => setValues({ ...values, [param.name]: v })} />
            {range !== "" ? <span className="param-range muted">{range}</span> : null}
            {problem !== undefined ? (
              <span className="param-problem error-text" data-testid="param-problem" data-param={param.name}>
                {problem}
              </span>
            ) : null}
          </div>
        );
      })}
      <div className="param-actions">
        <code className="param-spec muted" data-testid="indicator-spec-preview">
          {valid ? buildSpec(info, values) : "…"}
        </code>
        <button type="button" className="btn" onClick={onCancel}>
          Cancel
        </button>
        <button type="submit" className="btn btn-primary" disabled={!valid} data-testid="indicator-submit">
          {submitLabel}
        </button>
      </div>
    </form>
  );
}
