#!/usr/bin/env python3
"""Dump pySigma-pipeline-sysmon's and pySigma-pipeline-windows' pipelines as pySigma
processing-pipeline YAML, the format sigmat reads, with the helpers of
`export_pysigma_pipeline.py` (the script that wrote `ecs_windows.yml`).

    python export_pysigma_windows_pipelines.py sysmon > sysmon.yml
    python export_pysigma_windows_pipelines.py windows_logsources > windows_logsources.yml
    python export_pysigma_windows_pipelines.py windows_audit > windows_audit.yml

Wrote `backends/pipelines/{sysmon,windows_logsources,windows_audit}.yml` with
pySigma 1.5.1, pySigma-pipeline-sysmon 2.0.0 and pySigma-pipeline-windows 2.0.1;
`.ci/conformance-pipelines` re-runs it and compares.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import export_pysigma_pipeline as export  # noqa: E402
from sigma.pipelines.sysmon import sysmon_pipeline  # noqa: E402
from sigma.pipelines.windows import windows_audit_pipeline, windows_logsource_pipeline  # noqa: E402

PIPELINES = {
    "sysmon": sysmon_pipeline,
    "windows_logsources": windows_logsource_pipeline,
    "windows_audit": windows_audit_pipeline,
}

if __name__ == "__main__":
    if len(sys.argv) != 2 or sys.argv[1] not in PIPELINES:
        raise SystemExit(f"usage: {sys.argv[0]} {{{','.join(PIPELINES)}}}")
    # export.main() looks the name up in its `pipelines` table.
    export.pipelines = PIPELINES
    export.main()
