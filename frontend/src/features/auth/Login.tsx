import { useState, type FormEvent } from "react";
import { Link, Navigate, useNavigate, useSearchParams } from "react-router";
import { api, ApiProblem, unwrap } from "../../api/client";
import { ErrorNote, FormField } from "../../components/FormField";
import { Spinner } from "../../components/Spinner";
import { useSession } from "../../session";

/** Only paths on this site, never another origin. */
export function safeNext(next: string | null): string {
  return next && next.startsWith("/") && !next.startsWith("//") ? next : "/";
}

export default function Login() {
  const { phase, signedIn } = useSession();
  const [params] = useSearchParams();
  const navigate = useNavigate();
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  if (phase === "signed_in") return <Navigate to={safeNext(params.get("next"))} replace />;

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    setBusy(true);
    setError(null);
    try {
      const token = await unwrap(
        api.POST("/api/v1/auth/login", {
          body: { email: String(form.get("email")), password: String(form.get("password")) },
        }),
      );
      await signedIn(token.access_token);
      navigate(safeNext(params.get("next")), { replace: true });
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }

  return (
    <main id="main" className="auth-page">
      <h1>Log in to Plugboard</h1>
      <form onSubmit={submit} className="card stack" noValidate>
        <FormField label="E-mail" name="email" type="email" autoComplete="email" required />
        <FormField label="Password" name="password" type="password" autoComplete="current-password" required />
        <ErrorNote error={error} />
        <button className="btn btn-primary" type="submit" disabled={busy}>
          {busy ? <Spinner label="Logging in…" /> : "Log in"}
        </button>
      </form>
      <p>
        New here? <Link to="/signup">Create an account</Link>
      </p>
    </main>
  );
}

export function fieldError(error: unknown, field: string): string | undefined {
  return error instanceof ApiProblem ? error.fieldMessage(field) : undefined;
}
