// Holds the bot's device once it started, for the app built before it (the bot asks it on each encrypted message).
import type { CryptoPort, CryptoSource } from "../../app/ports/crypto";

export class CryptoSlot implements CryptoSource {
  private device: CryptoPort | null = null;

  current(): CryptoPort | null {
    return this.device;
  }

  set(device: CryptoPort | null): void {
    this.device = device;
  }
}
