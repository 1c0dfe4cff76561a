/**
 * Sign in: username and password, or the one-time link `k2q up` prints (`/login?token=…`), which
 * is posted at once, removed from the address, and followed by a jump to `next` (default /analysis).
 */
import { type SubmitEvent, useEffect, useState } from "react";
import { Navigate, useNavigate, useSearchParams } from "react-router-dom";

import { login, tokenLogin } from "../api/endpoints/auth";
import type { Session } from "../api/types";
import { useAuth } from "../features/auth/context";
import { describeLoginError, throttleMessage } from "../features/auth/loginErrors";
import { safeNext } from "../state/login";

// A one-time token must be posted once, even when an effect runs twice (StrictMode, remounts).
const tokenLogins = new Map<string, Promise<Session>>();
function tokenLoginOnce(token: string): Promise<Session> {
  let pending = tokenLogins.get(token);
  if (pending === undefined) {
    pending = tokenLogin(token);
    tokenLogins.set(token, pending);
  }
  return pending;
}

export default function Login() {
  const [params, setParams] = useSearchParams();
  const navigate = useNavigate();
  const { state } = useAuth();
  const next = safeNext(params.get("next"));
  // Read once: the token leaves the address bar right away.
  const [token] = useState(() => params.get("token"));
  const [tokenPending, setTokenPending] = useState(token !== null && token !== "");

  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [retryAt, setRetryAt] = useState<number | null>(null);
  const [now, setNow] = useState(() => Date.now());

  useEffect(() => {
    if (token === null || token === "") return undefined;
    setParams(
      (prev) => {
        const rest = new URLSearchParams(prev);
        rest.delete("token");
        return rest;
      },
      { replace: true },
    );
    let live = true;
    tokenLoginOnce(token).then(
      () => {
        if (live) void navigate(next, { replace: true });
      },
      (e: unknown) => {
        if (!live) return;
        setTokenPending(false);
        setError(describeLoginError(e, true).message);
      },
    );
    return () => {
      live = false;
    };
    // Once per token: `next` is read with it, and the token leaves the URL right here (a new URL makes a new `navigate`).
    // eslint-disable-next-line react-hooks/exhaustive-deps -- rerunning on them would strip the token and navigate again at every URL change
  }, [token]);

  // Count a 429's Retry-After down, then allow another attempt.
  useEffect(() => {
    if (retryAt === null) return undefined;
    const timer = setInterval(() => {
      const t = Date.now();
      setNow(t);
      if (t >= retryAt) {
        setRetryAt(null);
        setError(null);
      }
    }, 250);
    return () => clearInterval(timer);
  }, [retryAt]);

  if (state.status === "signed-in" && !tokenPending && !busy) return <Navigate to={next} replace />;

  const submit = async (event: SubmitEvent<HTMLFormElement>): Promise<void> => {
    event.preventDefault();
    if (busy || retryAt !== null) return;
    setBusy(true);
    setError(null);
    try {
      await login({ username: username.trim(), password });
      void navigate(next, { replace: true });
    } catch (e) {
      const failure = describeLoginError(e);
      setError(failure.message);
      if (failure.retryAfterS !== null && failure.retryAfterS > 0) {
        const t = Date.now();
        setNow(t);
        setRetryAt(t + failure.retryAfterS * 1000);
      }
      setBusy(false);
    }
  };

  const message = retryAt !== null ? throttleMessage((retryAt - now) / 1000) : error;
  const checking = state.status === "loading" || tokenPending;

  return (
    <div className="page login-page">
      <section className="panel login-panel">
        <h1 className="page-title">Sign in to K2 Quant</h1>
        {checking ? (
          <div className="muted" data-testid="login-pending">
            {tokenPending ? "Signing in with your link…" : "Checking your session…"}
          </div>
        ) : (
          <form className="form" onSubmit={(e) => void submit(e)} data-testid="login-form" noValidate>
            <label className="field">
              <span>Username</span>
              <input
                className="input"
                name="username"
                autoComplete="username"
                autoFocus
                required
                value={username}
                onChange={(e) => setUsername(e.target.value)}
                data-testid="login-username"
              />
            </label>
            <label className="field">
              <span>Password</span>
              <input
                className="input"
                name="password"
                type="password"
                autoComplete="current-password"
                required
                value={password}
                onChange={(e) => setPassword(e.target.value)}
                data-testid="login-password"
              />
            </label>
            {message !== null ? (
              <div className="problem" role="alert" data-testid="login-error" data-throttled={retryAt !== null ? "true" : "false"}>
                {message}
              </div>
            ) : null}
            <button
              className="btn btn-primary"
              type="submit"
              disabled={busy || retryAt !== null || username.trim() === "" || password === ""}
              data-testid="login-submit"
            >
              {busy ? "Signing in…" : "Sign in"}
            </button>
            <p className="muted login-hint">
              First time? <code>k2q up</code> prints a one-time sign-in link for the admin.
            </p>
          </form>
        )}
      </section>
    </div>
  );
}
