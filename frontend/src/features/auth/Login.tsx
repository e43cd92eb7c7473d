import { zodResolver } from "@hookform/resolvers/zod";
import { useForm } from "react-hook-form";
import { Link, Navigate, useNavigate, useSearchParams } from "react-router";
import { z } from "zod/mini";
import { ErrorNote, FormField } from "../../components/FormField";
import { Spinner } from "../../components/Spinner";
import { showProblem } from "../../forms";
import { ssoFailureSentence } from "../../copy";
import { useSession } from "../../session";
import { useLogIn, type LogInInput } from "./queries";
import { SsoButtons } from "./SsoButtons";

/** Only paths on this site, never another origin. */
export function safeNext(next: string | null): string {
  return next && next.startsWith("/") && !next.startsWith("//") ? next : "/";
}

const logInSchema = z.object({
  email: z.string().check(z.trim(), z.minLength(1, "Enter your e-mail address.")),
  password: z.string().check(z.minLength(1, "Enter your password.")),
}) satisfies z.ZodMiniType<LogInInput>;

export default function Login() {
  const { phase, signedIn } = useSession();
  const [params] = useSearchParams();
  const navigate = useNavigate();
  const logIn = useLogIn();
  const form = useForm({ resolver: zodResolver(logInSchema), defaultValues: { email: "", password: "" } });
  const { errors, isSubmitting } = form.formState;
  if (phase === "signed_in") return <Navigate to={safeNext(params.get("next"))} replace />;

  const submit = form.handleSubmit(async (credentials) => {
    try {
      const token = await logIn.mutateAsync(credentials);
      await signedIn(token.access_token);
      navigate(safeNext(params.get("next")), { replace: true });
    } catch (error) {
      showProblem(form.setError, error, ["email", "password"]);
    }
  });

  return (
    <main id="main" className="auth-page">
      <h1>Log in to Plugboard</h1>
      {ssoFailureSentence(params.get("error")) && (
        <p className="error-note" role="alert">
          {ssoFailureSentence(params.get("error"))}
        </p>
      )}
      <SsoButtons next={safeNext(params.get("next"))} />
      <form onSubmit={submit} className="card stack" noValidate>
        <FormField label="E-mail" type="email" autoComplete="email" required error={errors.email?.message} {...form.register("email")} />
        <FormField
          label="Password"
          type="password"
          autoComplete="current-password"
          required
          error={errors.password?.message}
          {...form.register("password")}
        />
        <ErrorNote error={errors.root?.server?.message} />
        <button className="btn btn-primary" type="submit" disabled={isSubmitting}>
          {isSubmitting ? <Spinner label="Logging in…" /> : "Log in"}
        </button>
      </form>
      <p>
        New here? <Link to="/signup">Create an account</Link>
      </p>
    </main>
  );
}
