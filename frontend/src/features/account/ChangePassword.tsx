// Changing the password: the current one, then a new one. Every other browser signed in as
// this person has to log in again; this one goes on with the session the answer brings.
import { zodResolver } from "@hookform/resolvers/zod";
import { useState } from "react";
import { useForm } from "react-hook-form";
import { z } from "zod/mini";
import { ErrorNote, FormField } from "../../components/FormField";
import { Spinner } from "../../components/Spinner";
import { showProblem } from "../../forms";
import { useSession } from "../../session";
import { useChangePassword, type PasswordChange } from "./queries";

const lengthRule = "Use a password of 10 to 200 characters.";

const changeSchema = z.object({
  current_password: z.string().check(z.minLength(1, "Enter your current password.")),
  new_password: z.string().check(z.minLength(10, lengthRule), z.maxLength(200, lengthRule)),
}) satisfies z.ZodMiniType<PasswordChange>;

export function ChangePassword() {
  const { signedIn } = useSession();
  const change = useChangePassword();
  const [changed, setChanged] = useState(false);
  const form = useForm({ resolver: zodResolver(changeSchema), defaultValues: { current_password: "", new_password: "" } });
  const { errors, isSubmitting } = form.formState;

  const submit = form.handleSubmit(async (body) => {
    setChanged(false);
    try {
      const token = await change.mutateAsync(body);
      await signedIn(token.access_token);
      form.reset();
      setChanged(true);
    } catch (error) {
      showProblem(form.setError, error, ["current_password", "new_password"]);
    }
  });

  return (
    <section className="card stack" aria-labelledby="password-title">
      <h2 id="password-title">Password</h2>
      {changed && (
        <p className="ok-note" role="status">
          Your password is changed. Any other browser signed in as you has to log in again.
        </p>
      )}
      <form onSubmit={submit} className="stack" noValidate>
        <FormField
          label="Current password"
          type="password"
          autoComplete="current-password"
          required
          error={errors.current_password?.message}
          {...form.register("current_password")}
        />
        <FormField
          label="New password"
          type="password"
          autoComplete="new-password"
          required
          hint="10 to 200 characters."
          error={errors.new_password?.message}
          {...form.register("new_password")}
        />
        <ErrorNote error={errors.root?.server?.message} />
        <button className="btn btn-primary" type="submit" disabled={isSubmitting}>
          {isSubmitting ? <Spinner label="Changing the password…" /> : "Change password"}
        </button>
      </form>
    </section>
  );
}
