// Antspace monitoring mixin: a thin jsonnet layer over the files that
// cmd/antspace_mixin renders (rules/antspace.rules.yml, dashboards/*.json).
//
//   local antspace = (import 'mixin/mixin.libsonnet') + {
//     _config+:: {
//       probeSelector: 'job="cooling_containers"',
//       exporterSelector: 'job="cooling_exporter"',
//       severityNames: { critical: 'critical', high: 'warning', medium: 'info' },
//       runbookURLBase: 'https://wiki.example.com/antspace-runbooks',
//       extraAlertLabels: { team: 'cooling' },
//     },
//   };
//   { 'antspace-alerts.yaml': std.manifestYamlDoc(antspace.prometheusAlerts) }
//
// _config maps selectors, severities, runbook links and extra labels onto the
// committed defaults. Thresholds are not re-rendered here: site defaults live
// in the rule expressions, so change them with cmd/antspace_mixin --config (or
// per container in the exporter's inventory). Selectors must be written as
// cmd/antspace_mixin prints them: name="value" pairs joined by ", ".
local rendered = std.parseYaml(importstr '../rules/antspace.rules.yml');
local committed = {
  'antspace-fleet.json': import '../dashboards/antspace-fleet.json',
  'antspace-hk3.json': import '../dashboards/antspace-hk3.json',
  'antspace-immersion.json': import '../dashboards/antspace-immersion.json',
};

// The values the committed files were rendered with.
local defaults = {
  probeSelector: 'job="antspace"',
  exporterSelector: 'job="antspace_exporter"',
  severityNames: { critical: 'critical', high: 'high', medium: 'medium' },
  runbookURLBase: 'https://github.com/antspace-exporter/antspace_exporter/blob/main/docs/runbooks.md',
  extraAlertLabels: {},
};

local isAlertGroup(g) = std.all([std.objectHas(r, 'alert') for r in g.rules]);

{
  _config+:: defaults,

  local cfg = self._config,
  local sev = defaults.severityNames + cfg.severityNames,
  local placeholder = '\u0000exporter\u0000',

  // Selectors in PromQL text (the exporter's first: the probe selector's
  // text is a prefix of it only when quoted differently).
  local selectors(s) =
    std.strReplace(
      std.strReplace(
        std.strReplace(s, '{' + defaults.exporterSelector, '{' + placeholder),
        '{' + defaults.probeSelector, '{' + cfg.probeSelector
      ),
      '{' + placeholder, '{' + cfg.exporterSelector
    ),

  local alertRule(r) = r {
    expr: selectors(r.expr),
    labels: r.labels { severity: sev[r.labels.severity] } + cfg.extraAlertLabels,
    annotations: r.annotations {
      description: selectors(r.annotations.description),
      runbook_url: std.strReplace(r.annotations.runbook_url, defaults.runbookURLBase, cfg.runbookURLBase),
    },
  },
  local recordingRule(r) = r { expr: selectors(r.expr) },

  prometheusAlerts+:: {
    groups+: [
      g { rules: [alertRule(r) for r in g.rules] }
      for g in rendered.groups
      if isAlertGroup(g)
    ],
  },

  prometheusRules+:: {
    groups+: [
      g { rules: [recordingRule(r) for r in g.rules] }
      for g in rendered.groups
      if !isAlertGroup(g)
    ],
  },

  // Dashboards: selectors inside the JSON text (quotes escaped there) and
  // the severity names (matchers, legends, value mappings).
  local esc(s) = std.strReplace(s, '"', '\\"'),
  local dashboard(d) =
    local text = std.manifestJsonEx(d, '  ');
    local withSelectors = std.strReplace(
      std.strReplace(
        std.strReplace(text, '{' + esc(defaults.exporterSelector), '{' + placeholder),
        '{' + esc(defaults.probeSelector), '{' + esc(cfg.probeSelector)
      ),
      '{' + placeholder, '{' + esc(cfg.exporterSelector)
    );
    // Through placeholders, so that e.g. high: medium, medium: info works.
    local mark(k) = '\u0001' + k + '\u0001';
    local marked = std.foldl(
      function(t, k) std.strReplace(std.strReplace(t, 'severity=\\"' + k + '\\"', 'severity=\\"' + mark(k) + '\\"'), '"' + k + '"', '"' + mark(k) + '"'),
      std.objectFields(defaults.severityNames),
      withSelectors
    );
    local withSeverities = std.foldl(
      function(t, k) std.strReplace(t, mark(k), esc(sev[k])),
      std.objectFields(defaults.severityNames),
      marked
    );
    std.parseJson(withSeverities),

  grafanaDashboards+:: {
    [name]: dashboard(committed[name])
    for name in std.objectFields(committed)
  },
}
