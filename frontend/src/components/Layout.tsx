import { NavLink, Outlet, useNavigate } from "react-router";
import { Suspense } from "react";
import { useSession } from "../session";
import { Spinner } from "./Spinner";

export function Layout() {
  const { me, org, chooseOrg, logOut, isAdmin } = useSession();
  const navigate = useNavigate();
  return (
    <>
      <header className="topbar">
        <a className="brand" href="/">
          Plugboard
        </a>
        <nav aria-label="Main">
          <NavLink to="/onboarding">Onboarding</NavLink>
          <NavLink to="/settings/integrations" end={false}>
            Integrations
          </NavLink>
          <NavLink to="/settings/members">Members</NavLink>
          <NavLink to="/settings/feature-flags">Feature flags</NavLink>
          <NavLink to="/settings/api-keys">API keys</NavLink>
          <NavLink to="/settings/notifications">Notifications</NavLink>
          {isAdmin && <NavLink to="/settings/privacy">Privacy requests</NavLink>}
          {me?.platform_admin && <NavLink to="/platform/readiness">Readiness</NavLink>}
          <a href="/api/docs/">API reference</a>
        </nav>
        <div className="topbar-right">
          {me && me.memberships.length > 0 && (
            <label className="org-switch">
              <span className="visually-hidden">Organization</span>
              <select
                value={org?.org_id}
                onChange={(e) => {
                  if (e.target.value === "__new") navigate("/orgs/new");
                  else chooseOrg(e.target.value);
                }}
              >
                {me.memberships.map((m) => (
                  <option key={m.org_id} value={m.org_id}>
                    {m.org_name} ({m.role})
                  </option>
                ))}
                <option value="__new">+ New organization…</option>
              </select>
            </label>
          )}
          <NavLink to="/account" className="muted">
            {me?.user.name}
          </NavLink>
          <button type="button" className="btn btn-small" onClick={() => logOut().then(() => navigate("/login"))}>
            Log out
          </button>
        </div>
      </header>
      <main id="main">
        <Suspense fallback={<Spinner label="Loading…" />}>
          <Outlet />
        </Suspense>
      </main>
    </>
  );
}
