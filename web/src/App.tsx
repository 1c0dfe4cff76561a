/** The shell: a top bar with the product name, links for the user's role and the user menu; the pages. */
import { type QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { lazy, Suspense, useState } from "react";
import { NavLink, Route, Routes } from "react-router-dom";

import { AuthProvider } from "./features/auth/AuthProvider";
import { type AuthState, useAuth } from "./features/auth/context";
import { RequireAuth } from "./features/auth/RequireAuth";
import { UserMenu } from "./features/auth/UserMenu";
import Landing from "./pages/Landing";
import Login from "./pages/Login";
import NotFound from "./pages/NotFound";
import StockFetcher from "./pages/StockFetcher";
import { createQueryClient } from "./queries/queryClient";

// The chart page carries lightweight-charts and apache-arrow; load it only when opened. Account
// and Admin are rarely visited.
const Analysis = lazy(() => import("./pages/Analysis"));
const Account = lazy(() => import("./pages/Account"));
const Admin = lazy(() => import("./pages/Admin"));
const Import = lazy(() => import("./pages/Import"));

const linkClass = ({ isActive }: { isActive: boolean }): string => (isActive ? "nav-link active" : "nav-link");

function Shell() {
  const { user, can } = useAuth();
  return (
    <div className="app">
      <header className="topbar">
        <NavLink to="/" className="brand" end>
          <span className="brand-mark">K2</span> K2 Quant
        </NavLink>
        {user !== null ? (
          <nav className="nav">
            <NavLink to="/" className={linkClass} end>
              Home
            </NavLink>
            {can("analyst") ? (
              <NavLink to="/fetch" className={linkClass} data-testid="nav-fetch">
                Fetch
              </NavLink>
            ) : null}
            {can("analyst") ? (
              <NavLink to="/import" className={linkClass} data-testid="nav-import">
                Import
              </NavLink>
            ) : null}
            <NavLink to="/analysis" className={linkClass}>
              Analysis
            </NavLink>
            {can("admin") ? (
              <NavLink to="/admin" className={linkClass} data-testid="nav-admin">
                Admin
              </NavLink>
            ) : null}
          </nav>
        ) : null}
        <UserMenu />
      </header>
      <Suspense fallback={<div className="page muted">Loading…</div>}>
        <Routes>
          <Route path="/login" element={<Login />} />
          <Route
            path="/"
            element={
              <RequireAuth>
                <Landing />
              </RequireAuth>
            }
          />
          <Route
            path="/fetch"
            element={
              <RequireAuth role="analyst">
                <StockFetcher />
              </RequireAuth>
            }
          />
          <Route
            path="/import"
            element={
              <RequireAuth role="analyst">
                <Import />
              </RequireAuth>
            }
          />
          <Route
            path="/analysis"
            element={
              <RequireAuth>
                <Analysis />
              </RequireAuth>
            }
          />
          <Route
            path="/account"
            element={
              <RequireAuth>
                <Account />
              </RequireAuth>
            }
          />
          <Route
            path="/admin"
            element={
              <RequireAuth role="admin">
                <Admin />
              </RequireAuth>
            }
          />
          <Route
            path="*"
            element={
              <RequireAuth>
                <NotFound />
              </RequireAuth>
            }
          />
        </Routes>
      </Suspense>
    </div>
  );
}

/**
 * `queryClient` holds the server state of the whole app (`main.tsx` makes it; tests may pass their
 * own, else one is made here). `auth` sets the starting session state (tests); the app itself asks
 * the server.
 */
export function App({ auth, queryClient }: { auth?: AuthState; queryClient?: QueryClient } = {}) {
  const [client] = useState(() => queryClient ?? createQueryClient());
  return (
    <QueryClientProvider client={client}>
      <AuthProvider initial={auth}>
        <Shell />
      </AuthProvider>
    </QueryClientProvider>
  );
}
