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

export class AlertmanagerPusher {
  constructor(
    private readonly baseUrl: string,
    private readonly onResult: (ok: boolean, error?: string) => void = () => {},
  ) {}

  async push(a: AlertPush): Promise<void> {
    const now = new Date();
    const body = [
      {
        labels: { alertname: 'KeepwatchSplitBrain', severity: 'critical', source: 'keepwatch-agent', ...a.labels },
        annotations: {
          summary: a.summary,
          description: a.description,
          runbook_url: 'https://github.com/keepwatch/keepwatch/blob/main/alerts/runbooks/KeepwatchSplitBrain.md',
        },
        startsAt: a.startsAt.toISOString(),
        // Firing: valid for a few minutes unless re-sent; resolved: ends now.
        endsAt: a.firing ? new Date(now.getTime() + 5 * 60_000).toISOString() : now.toISOString(),
        generatorURL: 'keepwatch://guard',
      },
    ];
    try {
      const res = await fetch(`${this.baseUrl}/api/v2/alerts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal: AbortSignal.timeout(3000) });
      if (!res.ok) this.onResult(false, `Alertmanager answered ${res.status}: ${(await res.text()).slice(0, 200)}`);
      else this.onResult(true);
    } catch (err) {
      this.onResult(false, (err as Error).message);
    }
  }
}
