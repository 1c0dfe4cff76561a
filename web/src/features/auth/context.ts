/** The signed-in user, as the whole app sees it: `useAuth()`. */
import { createContext, useContext } from "react";

import type { Me, Role } from "../../api/types";
import { roleAtLeast } from "./roles";

export type AuthState =
  | { status: "loading" }
  /** `signedOut`: by the Logout button (go to a plain /login), not by a lost or absent session. */
  | { status: "anonymous"; signedOut?: boolean }
  | { status: "error"; error: unknown }
  | { status: "signed-in"; user: Me };

export interface Auth {
  state: AuthState;
  /** The signed-in user, or `null`. */
  user: Me | null;
  role: Role | null;
  /** Whether the user's role includes `role` (false when signed out). */
  can: (role: Role) => boolean;
  /** Ends the session and goes to the login page. */
  signOut: () => Promise<void>;
  /** Asks the server again who this is (after an error). */
  recheck: () => void;
}

export function authFromState(state: AuthState, signOut: () => Promise<void> = () => Promise.resolve(), recheck: () => void = () => undefined): Auth {
  const user = state.status === "signed-in" ? state.user : null;
  const role = user?.role ?? null;
  return { state, user, role, can: (needed) => roleAtLeast(role, needed), signOut, recheck };
}

/** Outside an `AuthProvider` (isolated component tests) nobody is signed in. */
export const AuthContext = createContext<Auth>(authFromState({ status: "anonymous" }));

export function useAuth(): Auth {
  return useContext(AuthContext);
}
