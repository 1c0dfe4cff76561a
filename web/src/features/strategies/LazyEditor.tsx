/** The strategy editor, loaded when first shown (CodeMirror is its own chunk); a plain box meanwhile. */
import { lazy, Suspense } from "react";

import type { StrategyEditorProps } from "./StrategyEditor";

const StrategyEditor = lazy(() => import("./StrategyEditor"));

export function LazyEditor(props: StrategyEditorProps) {
  return (
    <Suspense fallback={<div className={props.singleLine === true ? "code-editor code-editor-line code-editor-loading" : "code-editor code-editor-loading"}>Loading the editor…</div>}>
      <StrategyEditor {...props} />
    </Suspense>
  );
}
