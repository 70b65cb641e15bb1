using MobileUNet.Model;
using static TorchSharp.torch;
using MobileUNet.Data;

namespace MobileUNet.Inference;

/// <summary>Runs a TorchSharp <see cref="Model.MobileUNet"/> (eager libtorch); the reference the ONNX path is checked against.</summary>
internal sealed class TorchSegmenter : ISegmenter
{
    readonly Model.MobileUNet model;
    readonly bool ownsModel;
    readonly float[] input;
    readonly Tensor inputTensor;

    public TorchSegmenter(Model.MobileUNet model, Normalization normalization, bool ownsModel = false)
    {
        this.model = model;
        this.ownsModel = ownsModel;
        Normalization = normalization;
        model.eval();
        int s = model.Spec.InputSize;
        input = new float[3 * s * s];
        // The tensor shares the managed buffer, so Segment normalises the caller's pixels straight into it.
        inputTensor = from_array(input).reshape(1, 3, s, s);
    }

    public ModelSpec Spec => model.Spec;
    public Normalization Normalization { get; }

    public void Segment(ReadOnlySpan<byte> pixels, int channels, Span<float> probabilities)
    {
        ISegmenter.CheckPixels(pixels, channels, 1, Spec.InputSize);
        Normalization.ToChw(pixels, channels, input);
        Forward(probabilities);
    }

    public void Run(ReadOnlySpan<float> chw, Span<float> probabilities)
    {
        chw[..input.Length].CopyTo(input);
        Forward(probabilities);
    }

    /// <summary>Runs the model on what the input buffer (shared with the input tensor) holds now.</summary>
    void Forward(Span<float> probabilities)
    {
        using var scope = NewDisposeScope();
        using var p = model.Predict(inputTensor);
        p.data<float>().CopyTo(probabilities);
        if (!outputChecked)
        {
            outputChecked = true;
            OutputCheck.RequireFinite(probabilities[..(Spec.InputSize * Spec.InputSize)], $"{Spec.Label} (torch)");
        }
    }

    bool outputChecked;

    public void Dispose()
    {
        inputTensor.Dispose();
        if (ownsModel) model.Dispose();
    }
}
