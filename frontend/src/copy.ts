// The product's words in one place.

export const statusText: Record<string, string> = {
  connected: "Connected",
  not_connected: "Not connected",
  expired: "Expired",
  error: "Error",
  disabled: "Disabled",
};

/** Category titles and descriptions for the hub's groups. */
export const categoryText: Record<string, { title: string; description: string }> = {
  commerce: { title: "Commerce", description: "Your store's products, orders and checkout" },
  payments: { title: "Payments", description: "Payments, payouts and bank verification" },
  advertising: { title: "Advertising Platforms", description: "Track conversions and sync ad spend" },
  analytics: { title: "Analytics", description: "Web analytics and tracking" },
  marketing: { title: "Marketing", description: "Email and SMS marketing" },
  reviews: { title: "Reviews", description: "Product reviews and UGC" },
  communication: { title: "Communication", description: "Notifications and messaging" },
  video_media: { title: "Video & Media", description: "Video hosting and transcription" },
  productivity: { title: "Productivity", description: "File storage and scheduling" },
  surveys: { title: "Surveys & Feedback", description: "Post-purchase surveys and customer feedback" },
  monitoring: { title: "Monitoring & Analytics", description: "Session recording, errors and behavioral analytics" },
  ai: { title: "AI", description: "Models and assistants" },
  crm: { title: "CRM", description: "Customers and deals" },
  social: { title: "Social", description: "Social networks and communities" },
};

/** What an OAuth callback's `code` means, in a sentence that says what to do. */
export const oauthFailure: Record<string, string> = {
  access_denied: "The connection was not approved. Connect again and choose Approve on the provider's page.",
  invalid_state: "The connection request was not recognised or was already used. Start the connection again from this page.",
  browser_mismatch:
    "Nothing was connected: this approval came back to a different browser from the one that started the connection. Start connecting again in this browser. If you did not start it, someone may have sent you their link; ignore it.",
  state_expired: "The connection request expired (they last 10 minutes). Start the connection again.",
  missing_code: "The provider did not send an authorization code back. Start the connection again.",
  invalid_hmac: "The provider's answer could not be verified. Start the connection again; if it keeps failing, contact support.",
  token_refused: "The provider refused to issue a token. Check the app's settings with the provider, then connect again.",
  authorization_failed: "The provider could not complete the authorization. Try connecting again.",
  provider_unavailable: "The provider did not answer. Wait a minute and connect again.",
  platform_not_ready: "This provider is not set up on the platform yet. Ask a platform administrator to configure it.",
};

export function oauthFailureSentence(code: string | null | undefined): string {
  return (code && oauthFailure[code]) ?? "The connection did not complete. Try connecting again.";
}

/** Why a sign-in with Microsoft or Google did not happen (`/login?error=…`), and what to do. */
export const ssoFailure: Record<string, string> = {
  sso_access_denied: "Sign-in was cancelled at the provider. Try again when you are ready.",
  sso_provider_error: "The provider could not sign you in. Try again, or log in with your password.",
  sso_invalid_state: "That sign-in link has expired or was already used. Start again from this page.",
  sso_browser_mismatch:
    "That sign-in came back to a different browser from the one that started it. Start again in this browser; if you did not start it, ignore it.",
  sso_missing_code: "The provider's answer could not be trusted, so you were not signed in. Start again from this page.",
  sso_code_refused: "The provider's answer could not be trusted, so you were not signed in. Start again from this page.",
  sso_invalid_token: "The provider's answer could not be trusted, so you were not signed in. Start again from this page.",
  sso_provider_unavailable: "The provider cannot be reached right now. Try again in a few minutes, or log in with your password.",
  sso_email_unverified:
    "Your provider did not confirm that this e-mail address is yours. Log in with your password, then link this account from your account page.",
  sso_identity_taken: "That account is already linked to another Plugboard user. Sign in as that user to unlink it first.",
  sso_throttled: "Too many sign-in attempts. Wait a minute, then try again.",
};

export function ssoFailureSentence(code: string | null | undefined): string | undefined {
  if (!code) return undefined;
  return ssoFailure[code] ?? "Signing in with the provider did not complete. Try again, or log in with your password.";
}

export const stepTitles: Record<string, string> = {
  basic_info: "Basic information",
  connect_shopify: "Connect Shopify",
  domains: "Domains",
  payments: "Payments",
  integrations: "Connect integrations",
  features: "Features",
  import_products: "Import products",
  invite_users: "Invite users",
  review_launch: "Review & launch",
};

export const integrationsBanner =
  "All integrations are optional. Connect what you need now, or configure later in Settings → Integrations.";

export const sandboxBanner =
  "The provider sandbox is on: every provider points at Plugboard's stand-in, not at the real service.";

/** What each privacy request a provider sends asks of the brand. */
export const privacyKindText: Record<string, { title: string; todo: string }> = {
  customer_data_request: {
    title: "Customer data request",
    todo: "Send the customer the data you hold about them (the orders listed), then mark it done.",
  },
  customer_redact: {
    title: "Customer erasure",
    todo: "Delete the customer's data from your own systems (the orders listed), then mark it done.",
  },
  shop_redact: {
    title: "Shop erasure",
    todo: "Plugboard erased what it held for the shop when the request came; nothing is left to do.",
  },
};
