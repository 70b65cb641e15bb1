namespace MobileUNet.Export;

/// <summary>
/// Folds an eval-mode BatchNorm into the convolution before it: with k = gamma / sqrt(var + eps),
/// W' = W * k (per output channel) and b' = (b - mean) * k + beta. Computed in double so the folded fp32
/// weights differ from torch's two-step result only by the final rounding.
/// </summary>
internal static class BatchNormFolding
{
    public static (float[] Weight, float[] Bias) Fold((float[] Values, long[] Shape) weight, float[]? bias,
        float[] gamma, float[] beta, float[] mean, float[] variance, double epsilon)
    {
        int outChannels = (int)weight.Shape[0];
        int perChannel = weight.Values.Length / outChannels;
        var folded = new float[weight.Values.Length];
        var foldedBias = new float[outChannels];
        for (int o = 0; o < outChannels; o++)
        {
            double k = gamma[o] / Math.Sqrt(variance[o] + epsilon);
            for (int i = 0; i < perChannel; i++)
                folded[o * perChannel + i] = (float)(weight.Values[o * perChannel + i] * k);
            foldedBias[o] = (float)(((bias?[o] ?? 0.0) - mean[o]) * k + beta[o]);
        }
        return (folded, foldedBias);
    }
}
