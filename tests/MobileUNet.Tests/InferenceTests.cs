using MobileUNet.Inference;
using MobileUNet.Model;
using static TorchSharp.torch;
using MobileUNet.Data;

namespace MobileUNet.Tests;

public class InferenceTests
{
    [Fact]
    public void Torch_segmenter_matches_the_model_and_reuses_its_buffers()
    {
        Torch.EnsureReady();
        manual_seed(3);
        using var model = new Model.MobileUNet(new ModelSpec(0.25, 64));
        using var segmenter = new TorchSegmenter(model, Normalization.ImageNet);
        var probabilities = new float[64 * 64];
        for (int round = 0; round < 2; round++)
        {
            using var x = randn(1, 3, 64, 64);
            segmenter.Run(x.data<float>().ToArray(), probabilities);
            using var expected = model.Predict(x);
            Assert.Equal(expected.data<float>().ToArray(), probabilities, new ToleranceComparer(1e-6f));
        }
    }

    [Fact]
    public void Normalization_maps_bytes_to_planar_normalised_floats()
    {
        var n = new Normalization([0.5f, 0.25f, 0f], [0.5f, 0.25f, 1f]);
        byte[] rgba = [255, 0, 51, 7, 0, 255, 102, 9];
        var chw = new float[6];
        n.ToChw(rgba, 4, chw);
        // r: (1 - 0.5) / 0.5 = 1, (0 - 0.5) / 0.5 = -1; g: -1, (1 - 0.25) / 0.25 = 3; b: 0.2, 0.4
        Assert.Equal([1f, -1f, -1f, 3f, 0.2f, 0.4f], chw, new ToleranceComparer(1e-5f));
        Assert.Equal(n, Normalization.FromJson(n.ToJson()));
    }

    [Fact]
    public void Bilinear_resize_keeps_constants_and_interpolates_midpoints()
    {
        byte[] flat = Enumerable.Repeat((byte)77, 5 * 3 * 3).ToArray();
        var resized = new byte[8 * 6 * 3];
        FrameOps.ResizeBilinear(flat, 5, 3, 3, resized, 8, 6);
        Assert.All(resized, v => Assert.Equal(77, v));

        // 2 -> 4 pixels with half-pixel centres: outputs sample at 0.25, 0.75 of the way: [0, 0.25, 0.75, 1] * 100
        float[] ramp = [0f, 100f];
        var wide = new float[4];
        FrameOps.ResizeBilinear(ramp, 2, 1, wide, 4, 1);
        Assert.Equal([0f, 25f, 75f, 100f], wide, new ToleranceComparer(1e-4f));
    }

    [Theory]
    [InlineData(16, 37, 23)] // up, odd sizes
    [InlineData(16, 16, 16)] // the model's own size: no resampling
    [InlineData(16, 9, 40)]  // down one way, up the other
    public void Mask_drawn_row_by_row_is_the_mask_of_the_full_resize(int size, int width, int height)
    {
        var random = new Random(5);
        var small = new float[size * size];
        for (int i = 0; i < small.Length; i++) small[i] = (float)random.NextDouble();
        var full = new float[width * height];
        FrameOps.ResizeBilinear(small, size, size, full, width, height);

        var rowByRow = ImageSegmentation.MaskBytes(small, size, width, height, 0.5f);

        Assert.Equal(ImageSegmentation.MaskBytes(full, 0.5f), rowByRow);
        Assert.Contains((byte)0, rowByRow);
        Assert.Contains((byte)255, rowByRow);
    }
}

public sealed class ToleranceComparer(float tolerance) : IEqualityComparer<float>
{
    public bool Equals(float x, float y) => Math.Abs(x - y) <= tolerance;
    public int GetHashCode(float obj) => 0;
}
