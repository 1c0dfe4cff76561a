/** Route guard: anonymous visitors go to `/login?next=<here>`; a role too weak sees why, not the page. */
import type { ReactNode } from "react";
import { Link, Navigate, useLocation } from "react-router-dom";

import type { Role } from "../../api/types";
import { loginHref } from "../../state/login";
import { ProblemBox } from "../../ui/ProblemBox";
import { useAuth } from "./context";
import { ROLE_TEXT, roleAtLeast } from "./roles";

export function RequireAuth({ role = "viewer", children }: { role?: Role; children: ReactNode }) {
  const { state, recheck } = useAuth();
  const location = useLocation();
  switch (state.status) {
    case "loading":
      return (
        <div className="page muted" data-testid="auth-loading">
          Checking your session…
        </div>
      );
    case "error":
      return (
        <div className="page">
          <ProblemBox error={state.error} testId="auth-problem" />
          <div className="row" style={{ marginTop: 10 }}>
            <button className="btn" onClick={recheck}>
              Try again
            </button>
            <Link to={loginHref(location.pathname + location.search)} className="btn">
              Sign in
            </Link>
          </div>
        </div>
      );
    case "anonymous":
      return <Navigate to={state.signedOut === true ? "/login" : loginHref(location.pathname + location.search)} replace />;
    case "signed-in":
      if (roleAtLeast(state.user.role, role)) return <>{children}</>;
      return (
        <div className="page" data-testid="forbidden">
          <h1 className="page-title">Not for your role</h1>
          <p className="muted">
            This page needs the <strong>{role}</strong> role ({ROLE_TEXT[role]}); you are signed in as{" "}
            <strong>{state.user.username}</strong>, a {state.user.role}. <Link to="/">Back to the start</Link>.
          </p>
        </div>
      );
  }
}
