// Prometheus metrics (docs/operations.md): the front door. Parts take `Pick<Metrics, 'hook'>` as a
// dependency and call that one hook; the host owns the registry and serves it at /metrics.
export {
  createMetrics,
  type HostMetrics,
  type MetricSources,
  type Metrics,
  type ModelCall,
  type RoutedMessage,
} from './registry.ts';
export { metricsApp } from './route.ts';
