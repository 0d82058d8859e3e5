/**
 * Pushes split-brain alerts to Alertmanager's v2 API itself (POST /api/v2/alerts): firing when a
 * conflict starts (re-sent while it lasts, so Alertmanager keeps it), resolved (endsAt = now) when
 * it ends. A scrape interval is too slow for this. Failures are logged and counted, never block.
 */
export interface AlertLabels {
  readonly vrrp_instance: string;
  readonly vrid: string;
  readonly node: string;
}

export interface AlertPush {
  readonly labels: AlertLabels;
  readonly summary: string;
  readonly description: string;
  readonly firing: boolean;
  readonly startsAt: Date;
}

/** The alert the agents push (no Prometheus rule may carry this name). */
export const SPLIT_BRAIN_ALERT = 'KeepwatchSplitBrain';

export class AlertmanagerPusher {
  /**
   * `runbookBaseUrl`: where the runbooks are served (`--runbook-base-url`, the same base as the
   * rules' and dashboards'); the alert links to `<base>/KeepwatchSplitBrain.md`.
   */
  constructor(
    private readonly baseUrl: string,
    private readonly onResult: (ok: boolean, error?: string) => void,
    private readonly runbookBaseUrl: string,
  ) {}

  /** The request body for one push (Alertmanager v2: a list of alerts). */
  body(a: AlertPush, now: Date): unknown[] {
    return [
      {
        labels: { alertname: SPLIT_BRAIN_ALERT, severity: 'critical', source: 'keepwatch-agent', ...a.labels },
        annotations: {
          summary: a.summary,
          description: a.description,
          runbook_url: `${this.runbookBaseUrl.replace(/\/+$/, '')}/${SPLIT_BRAIN_ALERT}.md`,
        },
        startsAt: a.startsAt.toISOString(),
        // Firing: valid for a few minutes unless re-sent; resolved: ends now.
        endsAt: a.firing ? new Date(now.getTime() + 5 * 60_000).toISOString() : now.toISOString(),
        generatorURL: 'keepwatch://guard',
      },
    ];
  }

  async push(a: AlertPush): Promise<void> {
    const body = this.body(a, new Date());
    try {
      const res = await fetch(`${this.baseUrl}/api/v2/alerts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal: AbortSignal.timeout(3000) });
      if (!res.ok) this.onResult(false, `Alertmanager answered ${res.status}: ${(await res.text()).slice(0, 200)}`);
      else this.onResult(true);
    } catch (err) {
      this.onResult(false, (err as Error).message);
    }
  }
}
