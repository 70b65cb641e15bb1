namespace MobileUNet.Export;

/// <summary>
/// Inputs that int8 calibration runs through the fp32 model to measure activation ranges: normalised images,
/// each 3 x S x S planar floats, from a folder of real images or synthetic when there is none.
/// </summary>
public sealed record Int8Calibration(IReadOnlyList<float[]> Images, string Source)
{
    /// <summary>Smooth random fields (not white noise: conv activations on noise are unlike those on photos).</summary>
    public static Int8Calibration Synthetic(int count, int seed) => new([], $"synthetic:{count}:{seed}");
}
