// A dashboard per watched model service: traffic, errors, latency, class shares, and each
// feature's windowed mean inside its baseline band (the mean ± the alert's threshold in standard
// deviations), with the missing values beside.
import { MODEL_METRICS, WatchedModel } from '@ml-platform/core';
import { MODEL_SERIES } from '../alerts/model-rules';
import { httpPanels } from './platform-dashboards';
import { dashboard, stat, timeseries } from './builder';

/** Dashboard file name to JSON document, one per model service. */
export function modelDashboards(models: readonly WatchedModel[]): Record<string, object> {
  return Object.fromEntries(
    models.map((m) => {
      const sel = `namespace="${m.namespace}", job="${m.job}"`;
      const k = m.thresholds.meanShiftSigma;
      const features = Object.entries(m.baseline.features).map(([feature, { mean, std }]) =>
        timeseries(
          `${feature}: windowed mean and baseline band`,
          [
            { expr: `${MODEL_SERIES.mean}{${sel}, feature="${feature}"}`, legend: 'mean (1h)' },
            { expr: `vector(${mean})`, legend: 'baseline mean' },
            { expr: `vector(${+(mean + k * std).toPrecision(12)})`, legend: `+${k} sd` },
            { expr: `vector(${+(mean - k * std).toPrecision(12)})`, legend: `-${k} sd` },
          ],
          { description: `Training mean ${mean}, standard deviation ${std}; ModelFeatureMeanShift fires outside the band for 30 minutes.` },
        ),
      );
      const shares = m.baseline.positiveClass !== undefined
        ? [
            timeseries('Positive share (1h) and baseline', [
              { expr: `${MODEL_SERIES.positiveShare}{${sel}}`, legend: `share of class ${m.baseline.positiveClass}` },
              { expr: `vector(${m.baseline.positiveShare})`, legend: 'baseline' },
            ], { unit: 'percentunit' }),
          ]
        : [];
      return [
        `model-${m.namespace}-${m.job}.json`,
        dashboard({
          uid: `model-${m.namespace}-${m.job}`.slice(0, 40),
          title: `Model: ${m.job}`,
          tags: ['platform', 'ml', 'model'],
          description: `${m.namespace}/${m.job} serving models:/${m.model}@${m.alias} (docs/serving.md): traffic, errors, latency, class shares and drift against its baseline.`,
          panels: [
            stat('Version served', { expr: `max by (version) (${MODEL_METRICS.info}{${sel}})`, legend: 'version {{version}}' }),
            ...httpPanels({ name: m.job, prefix: MODEL_METRICS.httpPrefix, job: m.job }),
            timeseries('Predictions by class (1h)', [{ expr: `${MODEL_SERIES.predictions}{${sel}}`, legend: '{{class}}' }]),
            ...shares,
            ...features,
            timeseries('Missing values share (1h)', [{ expr: `${MODEL_SERIES.missingShare}{${sel}}`, legend: '{{feature}}' }], { unit: 'percentunit', width: 24 }),
          ],
        }),
      ];
    }),
  );
}
