using System.Text.Json;
using MobileUNet.Model;

namespace MobileUNet.Tests;

public class ModelSpecTests
{
    [Theory]
    [InlineData(0.0)]
    [InlineData(-0.5)]
    [InlineData(1.01)]
    [InlineData(double.NaN)]
    public void Alpha_outside_0_1_is_refused(double alpha)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new ModelSpec(alpha, 224));
        Assert.Contains("(0, 1]", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new ModelSpec(1, 224, alphaUp: alpha));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(16)]
    [InlineData(100)]
    [InlineData(225)]
    public void Size_not_a_multiple_of_32_is_refused(int size)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new ModelSpec(1, size));
        Assert.Contains("multiple of 32", e.Message);
    }

    [Fact]
    public void AlphaUp_defaults_to_alpha_and_widths_floor()
    {
        var spec = new ModelSpec(0.75, 192);
        Assert.Equal(0.75, spec.AlphaUp);
        Assert.Equal(24, spec.C(32));
        Assert.Equal(18, spec.U(32)); // floor(24 * 0.75)
        Assert.Equal(768, spec.C(1024));
        var wide = new ModelSpec(0.5, 128, alphaUp: 1);
        Assert.Equal(256, wide.U(512));
        Assert.Equal(1, new ModelSpec(0.01, 32).C(32)); // never zero channels
        Assert.Equal(30, new ModelSpec(0.3, 32).C(100)); // 0.3 * 100 is 29.999... in binary
    }

    [Fact]
    public void Spec_round_trips_through_json()
    {
        var spec = new ModelSpec(0.5, 160, Upsampling.NearestConv, alphaUp: 0.25);
        var json = JsonSerializer.Serialize(spec);
        Assert.Contains("\"NearestConv\"", json);
        Assert.Equal(spec, JsonSerializer.Deserialize<ModelSpec>(json));
        var plain = new ModelSpec(1, 224);
        Assert.Equal(plain, JsonSerializer.Deserialize<ModelSpec>(JsonSerializer.Serialize(plain)));
        Assert.Throws<ArgumentOutOfRangeException>(() => JsonSerializer.Deserialize<ModelSpec>("{\"Alpha\":2,\"InputSize\":224}"));
    }

    [Fact]
    public void Foreign_architecture_round_trips_and_a_MobileUNet_spec_writes_no_architecture()
    {
        var foreign = ModelSpec.Foreign("selfie_segmentation", 256);
        Assert.Equal("selfie_segmentation-s256", foreign.Label);
        Assert.False(foreign.IsMobileUNet);
        Assert.Equal(foreign, JsonSerializer.Deserialize<ModelSpec>(JsonSerializer.Serialize(foreign)));
        Assert.NotEqual(new ModelSpec(1, 256), foreign);
        Assert.DoesNotContain("Architecture", JsonSerializer.Serialize(new ModelSpec(0.5, 128)));
        Assert.Throws<ArgumentException>(() => ModelSpec.Foreign("no spaces please", 256));
        var e = Assert.Throws<ArgumentException>(() => new Model.MobileUNet(foreign));
        Assert.Contains("not a MobileUNet", e.Message);
    }
}
