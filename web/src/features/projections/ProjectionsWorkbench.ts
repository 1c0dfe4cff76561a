/**
 * Everything the Analysis page shows of projections, loaded as one chunk (with its stylesheet) when
 * first wanted: the Projections section opened, or a projection named in the URL drawn.
 */
import "./projections.css";

export { ProjectionLayer } from "./ProjectionLayer";
export { ProjectionsPanel } from "./ProjectionsPanel";
