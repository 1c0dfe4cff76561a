/** A just-created API key, shown this once, with a copy button. */
import { useRef, useState } from "react";

import type { ApiKeyCreated } from "../../api/types";

export function NewKey({ created, onDismiss }: { created: ApiKeyCreated; onDismiss: () => void }) {
  const [copied, setCopied] = useState<"no" | "yes" | "select">("no");
  const codeRef = useRef<HTMLElement | null>(null);

  const selectKey = (): void => {
    const node = codeRef.current;
    const selection = window.getSelection();
    if (node === null || selection === null) return;
    const range = document.createRange();
    range.selectNodeContents(node);
    selection.removeAllRanges();
    selection.addRange(range);
  };

  const copy = async (): Promise<void> => {
    try {
      await navigator.clipboard.writeText(created.key);
      setCopied("yes");
    } catch {
      // No clipboard access (permissions, plain http on a LAN address): select it for Ctrl+C.
      selectKey();
      setCopied("select");
    }
  };

  return (
    <div className="new-key" role="status" data-testid="new-key" data-prefix={created.info.prefix}>
      <div className="new-key-title">
        New API key <strong>{created.info.name}</strong> ({created.info.role})
      </div>
      <div className="new-key-row">
        <code className="new-key-value" ref={codeRef} data-testid="new-key-value" onClick={selectKey}>
          {created.key}
        </code>
        <button className="btn btn-small" onClick={() => void copy()} data-testid="copy-key">
          {copied === "yes" ? "Copied" : "Copy"}
        </button>
      </div>
      <div className="warn">
        Copy it now: it will not be shown again.
        {copied === "select" ? " (Selected — press Ctrl+C / ⌘C.)" : ""}
      </div>
      <div className="muted">
        Use it as <code>Authorization: Bearer &lt;key&gt;</code>.
      </div>
      <div>
        <button className="btn btn-small" onClick={onDismiss} data-testid="dismiss-key">
          I have saved it
        </button>
      </div>
    </div>
  );
}
