/**
 * Everything the Analysis page shows of the assistant, loaded as one chunk (with its stylesheet and
 * the markdown renderer) once the page is open: the right pane, and the evidence drawn on the chart.
 */
import "./assistant.css";

export { AssistantPane } from "./AssistantPane";
export { EvidenceLayer } from "./EvidenceLayer";
