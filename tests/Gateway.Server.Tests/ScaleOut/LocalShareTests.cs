using Gateway.Core.Config;
using Gateway.Server.Middleware;

namespace Gateway.Server.Tests.ScaleOut;

/// <summary>What a replica enforces alone while Redis is not in use: each limit divided by the replicas it saw, never below 1.</summary>
public sealed class LocalShareTests
{
    [Theory]
    [InlineData(600, 200000L, 20, 3, 200, 66666L, 6)]
    [InlineData(600, 200000L, 2, 3, 200, 66666L, 1)]
    [InlineData(2, 1L, 1, 5, 1, 1L, 1)]
    [InlineData(600, 200000L, 20, 1, 600, 200000L, 20)]
    [InlineData(600, 200000L, 20, 0, 600, 200000L, 20)]
    public void Each_limit_is_shared_out(int rpm, long tpm, int concurrent, int replicas, int shareRpm, long shareTpm, int shareConcurrent)
    {
        var config = new ClientKeyConfig("k", null, null, rpm, tpm, concurrent, null);
        var share = SharedRateLimit.ShareOf(config, replicas);
        Assert.Equal((shareRpm, shareTpm, shareConcurrent), (share.Rpm!.Value, share.Tpm!.Value, share.MaxConcurrent!.Value));
    }

    [Fact]
    public void Absent_limits_stay_absent()
    {
        var share = SharedRateLimit.ShareOf(new ClientKeyConfig("k", null, null, null, null, 4, null), 2);
        Assert.Equal((null, null, 2), (share.Rpm, share.Tpm, share.MaxConcurrent));
    }
}
