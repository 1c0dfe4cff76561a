/** The top bar's right end: who is signed in (a link to /account), their role, and Logout. */
import { useState } from "react";
import { Link } from "react-router-dom";

import { errorMessage } from "../../api/problem";
import { useAuth } from "./context";

export function UserMenu() {
  const { user, signOut } = useAuth();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  if (user === null) return null;

  const onLogout = async (): Promise<void> => {
    setBusy(true);
    setError(null);
    try {
      await signOut();
    } catch (e) {
      setError(e);
      setBusy(false);
    }
  };

  return (
    <div className="user-menu">
      <Link to="/account" className="nav-user" data-testid="nav-user" data-role={user.role} data-username={user.username} title="Your account and API keys">
        <span className="nav-username">{user.username}</span>
        <span className={`role role-${user.role}`}>{user.role}</span>
      </Link>
      <button
        className="btn btn-small"
        onClick={() => void onLogout()}
        disabled={busy}
        data-testid="logout"
        title={error !== null ? `Logout failed: ${errorMessage(error)}` : "Sign out"}
      >
        {busy ? "Signing out…" : error !== null ? "Logout (failed, retry)" : "Logout"}
      </button>
    </div>
  );
}
