import { createContext, lazy, Suspense, useCallback, useContext, useState, type ReactNode } from "react";
import type { ToastItem, Tone } from "./ToastViewport";

// Radix's toast code loads with the first toast, not with the first page.
const ToastViewport = lazy(() => import("./ToastViewport"));

const ToastContext = createContext<(title: string, tone?: Tone, description?: string) => void>(() => {});

export function ToastProvider({ children }: { children: ReactNode }) {
  const [items, setItems] = useState<ToastItem[]>([]);
  const push = useCallback((title: string, tone: Tone = "info", description?: string) => {
    setItems((list) => [...list, { id: Date.now() + Math.random(), title, tone, description }]);
  }, []);
  const dismiss = useCallback((id: number) => setItems((list) => list.filter((i) => i.id !== id)), []);
  return (
    <ToastContext.Provider value={push}>
      {children}
      {items.length > 0 && (
        <Suspense fallback={null}>
          <ToastViewport items={items} dismiss={dismiss} />
        </Suspense>
      )}
    </ToastContext.Provider>
  );
}

export function useToast() {
  return useContext(ToastContext);
}
