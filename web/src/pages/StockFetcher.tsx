/** Fetch: start a fetch job and follow it. The job id lives in the URL (`?job=`) so a reload keeps following it. */
import { useSearchParams } from "react-router-dom";

import { FetchForm } from "../features/fetch/FetchForm";
import { JobProgress } from "../features/fetch/JobProgress";
import { useJob } from "../features/fetch/useJob";

export default function StockFetcher() {
  const [params, setParams] = useSearchParams();
  const jobId = params.get("job");
  const { job, error, live, update } = useJob(jobId);
  return (
    <div className="page fetch-page">
      <section className="panel">
        <h1 className="page-title">Fetch bars</h1>
        <FetchForm onStarted={(accepted) => setParams({ job: accepted.job_id })} />
      </section>
      <section className="panel">
        <h2 className="section-title">Job</h2>
        {jobId === null ? <div className="muted">Start a fetch to see its progress here.</div> : <JobProgress job={job} error={error} live={live} onUpdate={update} />}
      </section>
    </div>
  );
}
