import { lazy, Suspense } from "react";
import { Navigate, Outlet, Route, Routes, useLocation } from "react-router";
import { Layout } from "./components/Layout";
import { Spinner } from "./components/Spinner";
import { SandboxBanner } from "./components/SandboxBanner";
import { useSession } from "./session";

const Login = lazy(() => import("./features/auth/Login"));
const Signup = lazy(() => import("./features/auth/Signup"));
const NewOrg = lazy(() => import("./features/orgs/NewOrg"));
const AcceptInvitation = lazy(() => import("./features/orgs/AcceptInvitation"));
const Home = lazy(() => import("./features/onboarding/Home"));
const Wizard = lazy(() => import("./features/onboarding/Wizard"));
const Hub = lazy(() => import("./features/integrations/Hub"));
const ProviderPage = lazy(() => import("./features/integrations/ProviderPage"));
const Readiness = lazy(() => import("./features/platform/Readiness"));
const Members = lazy(() => import("./features/settings/Members"));
const FeatureFlags = lazy(() => import("./features/settings/FeatureFlags"));
const ApiKeys = lazy(() => import("./features/settings/ApiKeys"));
const Notifications = lazy(() => import("./features/settings/Notifications"));
const PrivacyRequests = lazy(() => import("./features/settings/PrivacyRequests"));
const Account = lazy(() => import("./features/account/Account"));

function RequireSession() {
  const { phase } = useSession();
  const location = useLocation();
  if (phase === "loading") return <Spinner label="Loading…" />;
  if (phase === "signed_out") {
    const next = encodeURIComponent(location.pathname + location.search);
    return <Navigate to={`/login?next=${next}`} replace />;
  }
  return <Outlet />;
}

function RequireOrg() {
  const { org } = useSession();
  if (!org) return <Navigate to="/orgs/new" replace />;
  return <Outlet />;
}

export function App() {
  return (
    <>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <SandboxBanner />
      <Suspense fallback={<Spinner label="Loading…" />}>
        <Routes>
          <Route path="/login" element={<Login />} />
          <Route path="/signup" element={<Signup />} />
          <Route element={<RequireSession />}>
            <Route element={<Layout />}>
              <Route path="/orgs/new" element={<NewOrg />} />
              <Route path="/invitations/:token" element={<AcceptInvitation />} />
              <Route path="/account" element={<Account />} />
              <Route element={<RequireOrg />}>
                <Route index element={<Home />} />
                <Route path="/onboarding" element={<Wizard />} />
                <Route path="/settings/integrations" element={<Hub />} />
                <Route path="/settings/integrations/:provider" element={<ProviderPage />} />
                <Route path="/settings/members" element={<Members />} />
                <Route path="/settings/feature-flags" element={<FeatureFlags />} />
                <Route path="/settings/api-keys" element={<ApiKeys />} />
                <Route path="/settings/notifications" element={<Notifications />} />
                <Route path="/settings/privacy" element={<PrivacyRequests />} />
                <Route path="/platform/readiness" element={<Readiness />} />
              </Route>
            </Route>
          </Route>
          <Route path="*" element={<NotFound />} />
        </Routes>
      </Suspense>
    </>
  );
}

function NotFound() {
  return (
    <main id="main" className="narrow">
      <h1>Page not found</h1>
      <p>
        Nothing is at this address. <a href="/">Go to the start page</a>.
      </p>
    </main>
  );
}
