/** Shows an API error in words: its title, detail and any per-field `extra`. */
import { ApiError, errorMessage, problemExtraLines } from "../api/problem";

interface Props {
  error: unknown;
  testId?: string;
}

export function ProblemBox({ error, testId = "problem" }: Props) {
  if (error === null || error === undefined) return null;
  const api = error instanceof ApiError ? error : null;
  const title = api !== null ? api.title : "Something went wrong";
  const detail = api !== null ? api.detail : errorMessage(error);
  const lines = api !== null ? problemExtraLines(api.extra) : [];
  return (
    <div className="problem" role="alert" data-testid={testId} data-status={api?.status ?? ""}>
      <div className="problem-title">
        {title}
        {api !== null && api.status > 0 ? <span className="problem-status">{api.status}</span> : null}
      </div>
      {detail !== null && detail !== "" ? <div className="problem-detail">{detail}</div> : null}
      {lines.length > 0 ? (
        <ul className="problem-extra">
          {lines.map((line) => (
            <li key={line}>{line}</li>
          ))}
        </ul>
      ) : null}
    </div>
  );
}
