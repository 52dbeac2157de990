#!/usr/bin/python3
"""sipp-stat.py FILE — summarise the last row of a SIPp -trace_stat CSV.

Prints shell assignments (eval-able): created success failed current
retrans elapsed (seconds, from the epoch columns) and the failure reasons
that are not zero as failed_reasons="Name=N ...". Missing file: created=0.
"""
import sys


def main():
    try:
        lines = [l.rstrip("\n") for l in open(sys.argv[1], encoding="latin-1")
                 if l.strip()]
    except OSError:
        lines = []
    if len(lines) < 2:
        print("created=0 success=0 failed=0 current=0 retrans=0 elapsed=0 "
              "failed_reasons=''")
        return 0
    head = lines[0].rstrip(";").split(";")
    row = lines[-1].rstrip(";").split(";")
    val = dict(zip(head, row))

    def num(key):
        try:
            return int(val.get(key, "0").strip() or 0)
        except ValueError:
            return 0

    def epoch(key):
        # e.g. "2026-11-26\t14:32:21.736323\t1795703541.736323"
        return float(val.get(key, "0").split("\t")[-1] or 0)

    elapsed = max(0.0, epoch("CurrentTime") - epoch("StartTime"))
    reasons = " ".join(f"{k[6:-3]}={v.strip()}" for k, v in val.items()
                       if k.startswith("Failed") and k.endswith("(C)")
                       and k != "FailedCall(C)" and v.strip() not in ("", "0"))
    print(f"created={num('OutgoingCall(C)') + num('IncomingCall(C)')} "
          f"success={num('SuccessfulCall(C)')} failed={num('FailedCall(C)')} "
          f"current={num('CurrentCall')} retrans={num('Retransmissions(C)')} "
          f"elapsed={elapsed:.2f} failed_reasons='{reasons}'")
    return 0


if __name__ == "__main__":
    sys.exit(main())
