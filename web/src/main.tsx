import "./styles.css";

import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { BrowserRouter } from "react-router-dom";

import { App } from "./App";
import { ensureNotNull } from "./lib/ensure";
import { createQueryClient } from "./queries/queryClient";

const queryClient = createQueryClient();

createRoot(ensureNotNull(document.getElementById("root"), "#root")).render(
  <StrictMode>
    <BrowserRouter>
      <App queryClient={queryClient} />
    </BrowserRouter>
  </StrictMode>,
);
