import { zodResolver } from "@hookform/resolvers/zod";
import { useForm } from "react-hook-form";
import { Link, Navigate, useNavigate } from "react-router";
import { z } from "zod/mini";
import { ErrorNote, FormField } from "../../components/FormField";
import { Spinner } from "../../components/Spinner";
import { email, showProblem, text } from "../../forms";
import { useSession } from "../../session";
import { useSignUp, type SignUpInput } from "./queries";
import { SsoButtons } from "./SsoButtons";

// The server's rules and words; it checks them again.
const signUpSchema = z.object({
  name: text(1, 100, "Enter a name of 1 to 100 characters."),
  email: email(),
  password: z.string().check(z.minLength(10, "Use a password of 10 to 200 characters."), z.maxLength(200, "Use a password of 10 to 200 characters.")),
}) satisfies z.ZodMiniType<SignUpInput>;

export default function Signup() {
  const { phase, signedIn } = useSession();
  const navigate = useNavigate();
  const signUp = useSignUp();
  const form = useForm({ resolver: zodResolver(signUpSchema), defaultValues: { name: "", email: "", password: "" } });
  const { errors, isSubmitting } = form.formState;
  if (phase === "signed_in") return <Navigate to="/" replace />;

  const submit = form.handleSubmit(async (account) => {
    try {
      const answer = await signUp.mutateAsync(account);
      await signedIn(answer.access_token);
      navigate("/orgs/new", { replace: true });
    } catch (error) {
      showProblem(form.setError, error, ["name", "email", "password"]);
    }
  });

  return (
    <main id="main" className="auth-page">
      <h1>Create your Plugboard account</h1>
      <SsoButtons />
      <form onSubmit={submit} className="card stack" noValidate>
        <FormField label="Your name" autoComplete="name" required error={errors.name?.message} {...form.register("name")} />
        <FormField label="E-mail" type="email" autoComplete="email" required error={errors.email?.message} {...form.register("email")} />
        <FormField
          label="Password"
          type="password"
          autoComplete="new-password"
          required
          hint="10 to 200 characters."
          error={errors.password?.message}
          {...form.register("password")}
        />
        <ErrorNote error={errors.root?.server?.message} />
        <button className="btn btn-primary" type="submit" disabled={isSubmitting}>
          {isSubmitting ? <Spinner label="Creating your account…" /> : "Sign up"}
        </button>
      </form>
      <p>
        Already have an account? <Link to="/login">Log in</Link>
      </p>
    </main>
  );
}
