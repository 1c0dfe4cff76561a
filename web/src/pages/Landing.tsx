/** Landing: what K2 Quant is, store readiness, and the datasets to open. */
import { Link } from "react-router-dom";

import { useAuth } from "../features/auth/context";
import { DatasetCards } from "../features/datasets/DatasetCards";
import { useDatasets } from "../features/datasets/useDatasets";
import { StoreStatus } from "../features/health/StoreStatus";
import { ProblemBox } from "../ui/ProblemBox";

export default function Landing() {
  const { datasets, error, loading } = useDatasets();
  const { can } = useAuth();
  return (
    <div className="page">
      <section className="hero">
        <h1>K2 Quant</h1>
        <p>
          A self-hosted market-data research platform: fetch stock bars from Polygon.io into a columnar store, chart them at any
          timeframe with server-side aggregation, and read the same slices from a notebook as Arrow streams.
        </p>
        <div className="row">
          {can("analyst") ? (
            <Link to="/fetch" className="btn btn-primary">
              Fetch data
            </Link>
          ) : null}
          <Link to="/analysis" className={can("analyst") ? "btn" : "btn btn-primary"}>
            Open analysis
          </Link>
        </div>
      </section>

      <section className="section">
        <h2 className="section-title">Stores</h2>
        <StoreStatus />
      </section>

      <section className="section">
        <h2 className="section-title">
          Datasets {datasets !== null ? <span className="muted">({datasets.length})</span> : null}
        </h2>
        <ProblemBox error={error} testId="datasets-problem" />
        {loading && datasets === null ? <div className="muted">Loading…</div> : null}
        {datasets !== null && datasets.length === 0 ? (
          <div className="empty">
            {can("analyst") ? (
              <>
                No datasets yet. <Link to="/fetch">Fetch some bars</Link> — from Polygon.io, or synthetic demo data if you have no key.
              </>
            ) : (
              "No datasets yet. Ask an analyst or admin to fetch some bars."
            )}
          </div>
        ) : null}
        {datasets !== null && datasets.length > 0 ? <DatasetCards datasets={datasets} /> : null}
      </section>
    </div>
  );
}
