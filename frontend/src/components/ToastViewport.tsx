import * as Toast from "@radix-ui/react-toast";

export type Tone = "success" | "error" | "info";
export interface ToastItem {
  id: number;
  title: string;
  description?: string;
  tone: Tone;
}

export default function ToastViewport({ items, dismiss }: { items: ToastItem[]; dismiss: (id: number) => void }) {
  return (
    <Toast.Provider swipeDirection="right" duration={8000}>
      {items.map((item) => (
        <Toast.Root
          key={item.id}
          className={`toast toast-${item.tone}`}
          type={item.tone === "error" ? "foreground" : "background"}
          onOpenChange={(open) => !open && dismiss(item.id)}
        >
          <Toast.Title className="toast-title">{item.title}</Toast.Title>
          {item.description && <Toast.Description>{item.description}</Toast.Description>}
          <Toast.Close className="toast-close" aria-label="Dismiss">
            ×
          </Toast.Close>
        </Toast.Root>
      ))}
      <Toast.Viewport className="toast-viewport" />
    </Toast.Provider>
  );
}
