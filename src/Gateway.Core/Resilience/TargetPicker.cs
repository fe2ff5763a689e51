using Gateway.Core.Config;
using Gateway.Core.Routing;

namespace Gateway.Core.Resilience;

/// <summary>
/// Chooses the targets of one request's chain, each at most once: in order (fallback) or weighted first
/// (loadbalance), skipping providers whose circuit is open while others remain. When only open ones are left, the
/// one that failed longest ago is tried anyway rather than failing with no attempt.
/// </summary>
/// <remarks>A mutable struct kept in the chain's frame: picking allocates nothing.</remarks>
internal struct TargetPicker
{
    private readonly StrategyRoute? _strategy;
    private readonly RouteTarget _direct;
    private uint _tried;
    private bool _picked;

    public TargetPicker(StrategyRoute strategy)
    {
        _strategy = strategy;
        _direct = default;
    }

    public TargetPicker(RouteTarget direct)
    {
        _strategy = null;
        _direct = direct;
    }

    /// <summary>A "provider/model" request: a chain of one.</summary>
    public readonly bool IsDirect => _strategy is null;

    public readonly bool HasUntried => _strategy is null ? !_picked : _tried != AllTried(_strategy.Targets.Count);

    public bool TryNext(out RouteTarget target, out Admission admission)
    {
        if (_strategy is null)
        {
            target = _direct;
            admission = Admission.Forced;
            if (_picked)
            {
                return false;
            }
            _picked = true;
            if (_direct.Provider.Health.TryAdmit(out var direct))
            {
                admission = direct;
            }
            return true;
        }

        var targets = _strategy.Targets;
        if (!_picked && _strategy.Config.Mode == StrategyMode.LoadBalance && TryWeightedPick(out int weighted, out admission))
        {
            _picked = true;
            return Take(weighted, out target);
        }
        _picked = true;

        var order = _strategy.Config.Mode == StrategyMode.LoadBalance ? _strategy.ByWeight : null;
        for (int n = 0; n < targets.Count; n++)
        {
            int i = order is null ? n : order[n];
            if (!IsTried(i) && targets[i].Provider.Health.TryAdmit(out admission))
            {
                return Take(i, out target);
            }
        }

        int oldest = -1;
        for (int i = 0; i < targets.Count; i++)
        {
            if (!IsTried(i) && (oldest < 0 || targets[i].Provider.Health.LastFailure < targets[oldest].Provider.Health.LastFailure))
            {
                oldest = i;
            }
        }
        admission = Admission.Forced;
        if (oldest < 0)
        {
            target = default;
            return false;
        }
        return Take(oldest, out target);
    }

    private bool TryWeightedPick(out int index, out Admission admission)
    {
        var targets = _strategy!.Targets;
        var weights = _strategy.Weights;
        int total = 0;
        for (int i = 0; i < targets.Count; i++)
        {
            if (targets[i].Provider.Health.IsAvailable)
            {
                total += weights[i];
            }
        }
        index = -1;
        admission = Admission.Closed;
        if (total == 0)
        {
            return false;
        }
        int ticket = Random.Shared.Next(total);
        for (int i = 0; i < targets.Count; i++)
        {
            if (!targets[i].Provider.Health.IsAvailable)
            {
                continue;
            }
            ticket -= weights[i];
            if (ticket < 0)
            {
                index = i;
                // Another request may have taken the half-open probe slot since IsAvailable: then fall back to the order.
                return targets[i].Provider.Health.TryAdmit(out admission);
            }
        }
        return false;
    }

    private bool Take(int index, out RouteTarget target)
    {
        _tried |= 1u << index;
        target = _strategy!.Targets[index];
        return true;
    }

    private readonly bool IsTried(int index) => (_tried & (1u << index)) != 0;

    private static uint AllTried(int count) => count >= 32 ? uint.MaxValue : (1u << count) - 1;
}
