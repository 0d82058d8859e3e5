/**
 * The ports of the core: the only ways it reaches time, the network and the kernel.
 * Adapters (src/adapters) implement them for a real host; test/fakes implements them in memory.
 * Every method is fire-and-forget from the core's point of view: adapters report outcomes as
 * events, so a slow kernel call never blocks the state machine.
 */
import type { AdvertFields } from '../protocol/advert.js';
import type { IpFamily } from '../protocol/inet.js';
import type { VirtualAddressConfig } from '../config/model.js';

/** An opaque timer handle. */
export type TimerHandle = { readonly __timer: true };

export interface Clock {
  /** Monotonic milliseconds (fractions allowed); never goes back. */
  now(): number;
  /** Wall-clock milliseconds since the epoch, for timestamps shown to people. */
  wallNow(): number;
  /**
   * Runs `fn` after `delayMs`, never before. `precise`: fire as close to the deadline as the host
   * allows (Master_Down_Timer, Adver_Timer); the host may hold its event loop for a moment near
   * the deadline to get there.
   */
  setTimer(delayMs: number, fn: () => void, opts?: { precise?: boolean }): TimerHandle;
  clearTimer(handle: TimerHandle): void;
}

/** One advert to send: the core has chosen source, destinations and every field. */
export interface OutgoingAdvert {
  readonly instance: string;
  readonly interface: string;
  readonly family: IpFamily;
  readonly source: string;
  /** The multicast group, or one entry per unicast peer. */
  readonly destinations: readonly string[];
  readonly fields: AdvertFields;
  readonly checksumAsV2: boolean;
}

export interface AdvertTransport {
  send(advert: OutgoingAdvert): void;
}

/** A VIP as the kernel should hold it. */
export interface VipAssignment {
  readonly instance: string;
  readonly interface: string;
  readonly vip: VirtualAddressConfig;
}

export interface AddressManager {
  /** Adds the address (idempotent). */
  add(assignment: VipAssignment): void;
  /** Removes the address (idempotent). */
  remove(assignment: VipAssignment): void;
}

export interface FrameInjector {
  /** Sends a complete Ethernet frame on the interface. */
  inject(iface: string, frame: Uint8Array): void;
}

/** What the core needs to know about the host's interfaces. */
export interface InterfaceInfo {
  /** The interface's MAC, as `aa:bb:cc:dd:ee:ff`, or undefined when unknown. */
  mac(iface: string): string | undefined;
  /** The address adverts are sent from: first IPv4 address, or the IPv6 link-local one. */
  primaryAddress(iface: string, family: IpFamily): string | undefined;
}
