/**
 * The agent's one event bus: a small typed publish/subscribe. Listener errors are isolated (one
 * bad subscriber can't stop VRRP or another subscriber); listeners run synchronously, in
 * subscription order. Nothing critical hangs off it: reactions that change other routers (sync
 * groups) run inside the engine, not as listeners.
 */
type Listener<E> = (event: E) => void;

export class EventBus<E extends { readonly type: string }> {
  private readonly listeners = new Map<string, Listener<E>[]>();
  private readonly any: Listener<E>[] = [];
  /** Called with listener errors (the agent logs them). */
  onListenerError: (error: unknown, event: E) => void = () => {};

  on<K extends E['type']>(type: K, fn: Listener<Extract<E, { type: K }>>): () => void {
    const list = this.listeners.get(type) ?? [];
    list.push(fn as Listener<E>);
    this.listeners.set(type, list);
    return () => {
      const l = this.listeners.get(type);
      if (l) l.splice(l.indexOf(fn as Listener<E>) >>> 0, 1);
    };
  }

  onAny(fn: Listener<E>): () => void {
    this.any.push(fn);
    return () => void this.any.splice(this.any.indexOf(fn) >>> 0, 1);
  }

  emit(event: E): void {
    const list = this.listeners.get(event.type);
    if (list) for (const fn of list) this.call(fn, event);
    for (const fn of this.any) this.call(fn, event);
  }

  private call(fn: Listener<E>, event: E): void {
    try {
      fn(event);
    } catch (err) {
      this.onListenerError(err, event);
    }
  }
}
