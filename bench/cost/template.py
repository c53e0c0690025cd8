"""What the cost model reads from ``template.yaml``: the functions' memory sizes and X-Ray's sampling rule."""

from __future__ import annotations

from bench.cost.prices import XRAY_RATE, XRAY_RESERVOIR_PER_S


def xray_sampling() -> tuple[float, float]:
    """(reservoir per second, fixed rate) of the template's X-Ray sampling rule, else X-Ray's default."""
    from devstack.resources import load_template

    for spec in load_template()["Resources"].values():
        if spec["Type"] == "AWS::XRay::SamplingRule":
            rule = spec["Properties"]["SamplingRule"]
            return float(rule["ReservoirSize"]), float(rule["FixedRate"])
    return XRAY_RESERVOIR_PER_S, XRAY_RATE


def memory_sizes() -> dict[str, int]:
    """The configured MemorySize of the poll and deliver functions (template.yaml)."""
    from devstack.resources import load_template

    template = load_template()
    default = int(template.get("Globals", {}).get("Function", {}).get("MemorySize", 128))
    functions = template["Resources"]

    def size(name: str) -> int:
        return int(functions[name]["Properties"].get("MemorySize", default))

    return {"poll": size("PollFunction"), "deliver": size("DeliverFunction")}
