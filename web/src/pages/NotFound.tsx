import { Link } from "react-router-dom";

export default function NotFound() {
  return (
    <div className="page">
      <h1 className="page-title">Not found</h1>
      <p className="muted">
        Nothing lives at this address. <Link to="/">Back to the start</Link>.
      </p>
    </div>
  );
}
