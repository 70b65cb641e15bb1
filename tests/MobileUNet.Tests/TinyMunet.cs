using MobileUNet.Data;
using MobileUNet.Model;

namespace MobileUNet.Tests;

/// <summary>One small untrained .munet (alpha 0.25 / 32, ImageNet normalisation) that CLI tests run as a model, saved once per test run.</summary>
static class TinyMunet
{
    public static Lazy<string> Path { get; } = new(() =>
    {
        Torch.EnsureReady();
        var path = System.IO.Path.Combine(TestData.TempDir(), "tiny.munet");
        using var model = new Model.MobileUNet(new ModelSpec(0.25, 32));
        WeightsFile.Save(model, path, Training.Checkpoint.Extra(Normalization.ImageNet, null));
        return path;
    });
}
