/** Import: bars from the user's own CSV or Parquet file become a dataset (source "file"). */
import { ImportForm } from "../features/import/ImportForm";

export default function Import() {
  return (
    <div className="page import-page">
      <section className="panel">
        <h1 className="page-title">Import bars from a file</h1>
        <p className="muted">
          One symbol's bars per file. Columns are matched by name, in any case: a timestamp (timestamp, time, date, datetime, ts or t — or a date and a
          time column), open, high, low and close (or o, h, l, c), and optionally volume, vwap and transactions. Timestamps may be dates, ISO-8601
          date-times with or without an offset, or epoch seconds, milliseconds or nanoseconds. Every row is checked before anything is stored.
        </p>
        <ImportForm />
      </section>
    </div>
  );
}
