/** /admin (admins only): users, every API key, and the audit log. */
import { AllKeys } from "../features/admin/AllKeys";
import { AuditLog } from "../features/admin/AuditLog";
import { Users } from "../features/admin/Users";

export default function Admin() {
  return (
    <div className="page admin-page">
      <h1 className="page-title">Administration</h1>
      <nav className="row admin-toc">
        <a href="#users">Users</a>
        <a href="#keys">API keys</a>
        <a href="#audit">Audit log</a>
      </nav>
      <section className="section" id="users">
        <h2 className="section-title">Users</h2>
        <Users />
      </section>
      <section className="section" id="keys">
        <h2 className="section-title">API keys (everyone's)</h2>
        <AllKeys />
      </section>
      <section className="section" id="audit">
        <h2 className="section-title">Audit log</h2>
        <AuditLog />
      </section>
    </div>
  );
}
