/** The shell: a top bar with the product name and links, and the three pages. */
import { lazy, Suspense } from "react";
import { NavLink, Route, Routes } from "react-router-dom";

import Landing from "./pages/Landing";
import NotFound from "./pages/NotFound";
import StockFetcher from "./pages/StockFetcher";

// The chart page carries lightweight-charts and apache-arrow; load it only when opened.
const Analysis = lazy(() => import("./pages/Analysis"));

const linkClass = ({ isActive }: { isActive: boolean }): string => (isActive ? "nav-link active" : "nav-link");

export function App() {
  return (
    <div className="app">
      <header className="topbar">
        <NavLink to="/" className="brand" end>
          <span className="brand-mark">K2</span> K2 Quant
        </NavLink>
        <nav className="nav">
          <NavLink to="/" className={linkClass} end>
            Home
          </NavLink>
          <NavLink to="/fetch" className={linkClass}>
            Fetch
          </NavLink>
          <NavLink to="/analysis" className={linkClass}>
            Analysis
          </NavLink>
        </nav>
      </header>
      <Suspense fallback={<div className="page muted">Loading…</div>}>
        <Routes>
          <Route path="/" element={<Landing />} />
          <Route path="/fetch" element={<StockFetcher />} />
          <Route path="/analysis" element={<Analysis />} />
          <Route path="*" element={<NotFound />} />
        </Routes>
      </Suspense>
    </div>
  );
}
