/**
 * Owns the session state: asks `GET /auth/me` once at start (skipped without the CSRF cookie: then
 * nobody is signed in), follows new sessions (login, refresh) and lost ones (a refused refresh).
 * Signing out forgets the cached server state, so the next user to sign in here starts afresh.
 */
import { useQueryClient } from "@tanstack/react-query";
import { type ReactNode, useCallback, useEffect, useMemo, useState } from "react";

import { mayBeSignedIn } from "../../api/cookies";
import { getMe, logout } from "../../api/endpoints/auth";
import { onSession, setSessionLostHandler } from "../../api/http";
import { ApiError, isAbortError } from "../../api/problem";
import { type AuthState, AuthContext, authFromState } from "./context";

function initialState(): AuthState {
  return mayBeSignedIn() ? { status: "loading" } : { status: "anonymous" };
}

export function AuthProvider({ initial, children }: { initial?: AuthState | undefined; children: ReactNode }) {
  const [state, setState] = useState<AuthState>(() => initial ?? initialState());
  const [version, setVersion] = useState(0);
  const queryClient = useQueryClient();
  const checking = state.status === "loading";

  useEffect(() => {
    if (!checking) return undefined;
    const controller = new AbortController();
    getMe(controller.signal)
      .then((user) => setState({ status: "signed-in", user }))
      .catch((error: unknown) => {
        if (isAbortError(error)) return;
        setState(error instanceof ApiError && error.status === 401 ? { status: "anonymous" } : { status: "error", error });
      });
    return () => controller.abort();
  }, [checking, version]);

  useEffect(() => {
    const unsubscribe = onSession((session) =>
      setState({ status: "signed-in", user: { username: session.user.username, role: session.user.role, auth: "session" } }),
    );
    // The guard (RequireAuth) sends an anonymous visitor to /login?next=<where they were>.
    const restore = setSessionLostHandler(() => setState({ status: "anonymous" }));
    return () => {
      unsubscribe();
      restore();
    };
  }, []);

  // The guard then goes to /login. (Navigating here as well would race it: router navigations are
  // transitions, this state change is not.)
  const signOut = useCallback(async () => {
    await logout();
    queryClient.clear();
    setState({ status: "anonymous", signedOut: true });
  }, [queryClient]);

  const recheck = useCallback(() => {
    setState({ status: "loading" });
    setVersion((v) => v + 1);
  }, []);

  const auth = useMemo(() => authFromState(state, signOut, recheck), [state, signOut, recheck]);
  return <AuthContext value={auth}>{children}</AuthContext>;
}
