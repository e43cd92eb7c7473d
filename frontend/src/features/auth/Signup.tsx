import { useState, type FormEvent } from "react";
import { Link, Navigate, useNavigate } from "react-router";
import { api, ApiProblem, unwrap } from "../../api/client";
import { ErrorNote, FormField } from "../../components/FormField";
import { Spinner } from "../../components/Spinner";
import { useSession } from "../../session";
import { fieldError } from "./Login";

export default function Signup() {
  const { phase, signedIn } = useSession();
  const navigate = useNavigate();
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  if (phase === "signed_in") return <Navigate to="/" replace />;

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    setBusy(true);
    setError(null);
    try {
      const answer = await unwrap(
        api.POST("/api/v1/auth/signup", {
          body: {
            name: String(form.get("name")),
            email: String(form.get("email")),
            password: String(form.get("password")),
          },
        }),
      );
      await signedIn(answer.access_token);
      navigate("/orgs/new", { replace: true });
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }
  const fieldsNamed = error instanceof ApiProblem && error.fields.length > 0;

  return (
    <main id="main" className="auth-page">
      <h1>Create your Plugboard account</h1>
      <form onSubmit={submit} className="card stack" noValidate>
        <FormField label="Your name" name="name" autoComplete="name" required error={fieldError(error, "name")} />
        <FormField label="E-mail" name="email" type="email" autoComplete="email" required error={fieldError(error, "email")} />
        <FormField
          label="Password"
          name="password"
          type="password"
          autoComplete="new-password"
          required
          hint="10 to 200 characters."
          error={fieldError(error, "password")}
        />
        {!fieldsNamed && <ErrorNote error={error} />}
        <button className="btn btn-primary" type="submit" disabled={busy}>
          {busy ? <Spinner label="Creating your account…" /> : "Sign up"}
        </button>
      </form>
      <p>
        Already have an account? <Link to="/login">Log in</Link>
      </p>
    </main>
  );
}
